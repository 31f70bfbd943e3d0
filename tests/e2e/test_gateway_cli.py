"""`ipsim gateway pack|verify|import` end to end: a partner office packs a real ST.96 file, the
receiving server (a real `ipsim serve`) imports it once, refuses the replay, and exports the
record back as ST.96."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from support.gateway_samples import TRADEMARK_XML

from ipsim.clients import Client
from ipsim.platform.gateway.packages import load_private_key, public_key_b64

from .conftest import ServerProcess, run_cli, start_server


def test_a_signed_package_is_imported_once_and_exports_back(tmp_path: Path) -> None:
    secret = bytes(range(1, 33))
    key = load_private_key(base64.b64encode(secret))
    (tmp_path / "em.key").write_bytes(base64.b64encode(secret))
    (tmp_path / "mark.xml").write_bytes(TRADEMARK_XML)
    (tmp_path / "keys.json").write_text(json.dumps({"EM": public_key_b64(key)}))
    server: ServerProcess = start_server(tmp_path / "data")
    state = tmp_path / "state"
    try:
        with Client(server.url) as client:
            client.create_collection("marks", "trademark")
            client.register_partner("EM", public_key_b64(key), "EUIPO")
        package = str(tmp_path / "p.json")
        packed = run_cli(server, "gateway", "pack", str(tmp_path / "mark.xml"), "--sender", "EM",
                         "--key", str(tmp_path / "em.key"), "--out", package, "--id", "em-0001",
                         state=state)  # fmt: skip
        assert packed.returncode == 0, packed.stderr
        verified = run_cli(server, "gateway", "verify", package, "--keys",
                           str(tmp_path / "keys.json"), state=state)  # fmt: skip
        assert verified.returncode == 0 and "ok: package em-0001 from EM" in verified.stdout

        imported = run_cli(server, "gateway", "import", package, "--collection", "marks",
                           "--json", state=state)  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        answer = json.loads(imported.stdout)
        assert answer["package"] == "em-0001" and answer["sender"] == "EM"
        [doc_id] = answer["imported"]
        assert doc_id.startswith("EM-")

        replay = run_cli(server, "gateway", "import", package, "--collection", "marks",
                         state=state)  # fmt: skip
        assert replay.returncode != 0 and "replay" in (replay.stderr + replay.stdout).lower()

        with Client(server.url) as client:
            assert client.get_collection("marks")["count"] == 1
            exported = client.export_st96("marks", doc_id)
        assert b"ApplicationNumberText>018123456<" in exported
        assert b"http://www.wipo.int/standards/XMLSchema/ST96/Trademark" in exported
    finally:
        server.terminate()
