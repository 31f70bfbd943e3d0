"""The platform layer as one object: its database and the services over it.

The server opens a :class:`Platform` once (the database is migrated to the newest revision
first), hands it to the HTTP app, starts its background work after the engine is up and
closes it on the way out. Routes reach a service as ``request.app.state.platform.<name>``;
without a platform (tests of the engine's routes, say) they answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ipsim.platform import migrate
from ipsim.platform.bi.analytics import BiService
from ipsim.platform.bi.records import BiRecordStore
from ipsim.platform.database import open_database
from ipsim.platform.filing.applications import ApplicationStore
from ipsim.platform.filing.assessment import AssessmentService
from ipsim.platform.filing.attachments import AttachmentStore
from ipsim.platform.filing.attorneys import AttorneyRegister
from ipsim.platform.filing.correspondence import CorrespondenceStore
from ipsim.platform.filing.facade import DocumentAccess, PlatformEngine
from ipsim.platform.filing.fees import FeeSchedule
from ipsim.platform.filing.notifications import Notifier, NotifierOptions, load_secret
from ipsim.platform.gateway.service import Gateway
from ipsim.platform.ledger.log import TransparencyLog, load_office_key
from ipsim.platform.ledger.rights import LedgerService
from ipsim.platform.result_sets import ResultSetStore


@dataclass
class Platform:
    """The platform database and every service over it."""

    database: Engine
    data: Path
    """The server's data directory (attachments and other files live under it)."""
    result_sets: ResultSetStore
    attachments: AttachmentStore
    applications: ApplicationStore
    fees: FeeSchedule
    """The versioned fee schedule (the packaged file), shared with the application store."""
    attorneys: AttorneyRegister
    assessments: AssessmentService
    """Preliminary novelty assessments; its worker runs once an engine is attached."""
    correspondence: CorrespondenceStore
    notifier: Notifier
    """Pushes application events to applicants' callback URLs (started by :meth:`start`)."""
    bi_records: BiRecordStore
    """Bibliographic records (imported or synthetic) that the BI analytics count."""
    bi: BiService
    """The analytical store (DuckDB, in memory), reports and live indicators."""
    gateway: Gateway
    """ST.96/GBD/CSV/JSON Lines import and export, signed packages from partner offices."""
    ledger: LedgerService
    """Parties, rights and signed transactions on an RFC 6962 log (office key under DATA)."""

    @classmethod
    def open(
        cls,
        url: str,
        data: Path,
        *,
        notifications: NotifierOptions | None = None,
        ledger_key: Path | None = None,
    ) -> Platform:
        """Connect to ``url`` and migrate it to the newest revision.

        ``notifications``: how callbacks are signed and sent (default: the key kept in
        ``DATA/callback-secret``, private addresses refused).
        ``ledger_key``: the ledger office's Ed25519 PEM file (default: ``DATA/ledger-office.key``,
        made on first start).
        """
        database = open_database(url)
        try:
            migrate.upgrade(database)
        except BaseException:
            database.dispose()
            raise
        attachments = AttachmentStore(database, data)
        fees = FeeSchedule.load()
        applications = ApplicationStore(database, attachments, fees)
        return cls(
            database=database,
            data=data,
            result_sets=ResultSetStore(database),
            attachments=attachments,
            applications=applications,
            fees=fees,
            attorneys=AttorneyRegister(database),
            assessments=AssessmentService(database, applications, attachments),
            correspondence=CorrespondenceStore(database),
            notifier=Notifier(
                database, notifications or NotifierOptions(secret=load_secret(None, data))
            ),
            bi_records=BiRecordStore(database),
            bi=BiService(database),
            gateway=Gateway(database),
            ledger=LedgerService(TransparencyLog(database, load_office_key(data, ledger_key))),
        )

    def attach_engine(self, engine: PlatformEngine) -> None:
        """The search engine, through its facade: the only way the platform reaches it."""
        self.assessments.attach(engine)
        self.bi.store.attach_collections(engine)
        if isinstance(engine, DocumentAccess):
            self.gateway.attach(engine)

    async def start(self) -> None:
        """Start the background work (after the engine is serving)."""
        await self.assessments.start()
        await self.notifier.start()
        await self.bi.start()

    async def close(self) -> None:
        """Stop the background work and close the pooled connections."""
        await self.assessments.close()
        await self.notifier.close()
        await self.bi.close()
        self.database.dispose()


__all__ = ["Platform"]
