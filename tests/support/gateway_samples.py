# ruff: noqa: E501 - XML samples keep their elements on one line
"""ST.96 sample documents written from the standard's element names, and hostile XML, shared
by the gateway's tests."""

from __future__ import annotations

# ST.96 Trademark and Common namespaces.
TRADEMARK_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<tmk:TrademarkBag xmlns:tmk="http://www.wipo.int/standards/XMLSchema/ST96/Trademark"
                  xmlns:com="http://www.wipo.int/standards/XMLSchema/ST96/Common">
  <tmk:TradeMark>
    <com:RegistrationOfficeCode>EM</com:RegistrationOfficeCode>
    <com:ApplicationNumber><com:ApplicationNumberText>018123456</com:ApplicationNumberText>
    </com:ApplicationNumber>
    <tmk:ApplicationDate>2019-09-13</tmk:ApplicationDate>
    <com:RegistrationNumber>018123456</com:RegistrationNumber>
    <tmk:RegistrationDate>2020-01-24</tmk:RegistrationDate>
    <tmk:ExpiryDate>2029-09-13</tmk:ExpiryDate>
    <tmk:MarkCurrentStatusCode>Registered</tmk:MarkCurrentStatusCode>
    <tmk:MarkRepresentation><tmk:MarkReproduction>
      <tmk:WordMarkSpecification>
        <tmk:MarkVerbalElementText com:languageCode="en">Blue  Heron</tmk:MarkVerbalElementText>
      </tmk:WordMarkSpecification>
      <tmk:MarkImageBag><tmk:MarkImage><tmk:MarkImageCategory><com:CategoryCodeBag>
        <com:CategoryCode>03.07.16</com:CategoryCode><com:CategoryCode>26.01.01</com:CategoryCode>
      </com:CategoryCodeBag></tmk:MarkImageCategory></tmk:MarkImage></tmk:MarkImageBag>
    </tmk:MarkReproduction></tmk:MarkRepresentation>
    <tmk:GoodsServicesBag><tmk:GoodsServices><tmk:ClassDescriptionBag>
      <tmk:ClassDescription><tmk:ClassNumber>25</tmk:ClassNumber>
        <tmk:GoodsServicesDescriptionText com:languageCode="en">Clothing; footwear.</tmk:GoodsServicesDescriptionText>
      </tmk:ClassDescription>
      <tmk:ClassDescription><tmk:ClassNumber>9</tmk:ClassNumber></tmk:ClassDescription>
    </tmk:ClassDescriptionBag></tmk:GoodsServices></tmk:GoodsServicesBag>
    <tmk:ApplicantBag><tmk:Applicant><com:Contact><com:Name>
      <com:EntityName>Heron Apparel GmbH</com:EntityName></com:Name></com:Contact></tmk:Applicant>
    </tmk:ApplicantBag>
    <tmk:RepresentativeBag><tmk:Representative><com:Contact><com:Name>
      <com:EntityName>Muster &amp; Partner</com:EntityName></com:Name></com:Contact>
    </tmk:Representative></tmk:RepresentativeBag>
  </tmk:TradeMark>
</tmk:TrademarkBag>
"""

PATENT_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<pat:PatentPublication xmlns:pat="http://www.wipo.int/standards/XMLSchema/ST96/Patent"
                       xmlns:com="http://www.wipo.int/standards/XMLSchema/ST96/Common">
  <pat:BibliographicData>
    <pat:ApplicationIdentification>
      <com:IPOfficeCode>EP</com:IPOfficeCode>
      <com:ApplicationNumber><com:ApplicationNumberText>19812345.6</com:ApplicationNumberText>
      </com:ApplicationNumber>
      <pat:FilingDate>2019-11-05</pat:FilingDate>
    </pat:ApplicationIdentification>
    <pat:PatentPublicationIdentification>
      <com:PublicationNumber>3876543</com:PublicationNumber>
      <com:PublicationDate>2021-09-08</com:PublicationDate>
    </pat:PatentPublicationIdentification>
    <pat:InventionTitle com:languageCode="en">Folding bicycle frame</pat:InventionTitle>
    <pat:PatentClassificationBag><pat:IPCRClassificationBag>
      <pat:IPCRClassification><pat:PatentClassificationText>B62K 15/00</pat:PatentClassificationText></pat:IPCRClassification>
      <pat:IPCRClassification><pat:PatentClassificationText>B62K 19/02</pat:PatentClassificationText></pat:IPCRClassification>
    </pat:IPCRClassificationBag></pat:PatentClassificationBag>
    <pat:PartyBag>
      <pat:ApplicantBag><pat:Applicant><com:Contact><com:Name><com:EntityName>Velo AG</com:EntityName>
      </com:Name></com:Contact></pat:Applicant></pat:ApplicantBag>
      <pat:InventorBag><pat:Inventor><com:Contact><com:Name><com:EntityName>Ada Rad</com:EntityName>
      </com:Name></com:Contact></pat:Inventor></pat:InventorBag>
    </pat:PartyBag>
    <pat:Abstract><com:P>A frame that folds at the seat tube.</com:P></pat:Abstract>
  </pat:BibliographicData>
</pat:PatentPublication>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<tmk:TrademarkBag xmlns:tmk="http://www.wipo.int/standards/XMLSchema/ST96/Trademark">&lol3;</tmk:TrademarkBag>
"""
QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "' + b"A" * 50_000 + b'">]>\n<x>'
    + b"&a;" * 1000 + b"</x>"
)  # fmt: skip
XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>"""
XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "http://169.254.169.254/latest/meta-data/">]><x>&xxe;</x>"""
