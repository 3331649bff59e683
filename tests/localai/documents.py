"""Files for the file search tests: two small knowledge files, and a real PDF built by hand."""

# Two files on different subjects; each question below is answered by one of them.
VOLCANO_NOTES = """# Volcanoes of Iceland

Iceland sits on the Mid-Atlantic Ridge, where the Eurasian and North American plates
drift apart by about two centimetres a year.

Hekla is one of the most active volcanoes in Iceland. Medieval Europeans called Hekla
the gateway to hell. It has erupted more than twenty times since the year 874.

Eyjafjallajökull erupted in April 2010 and its ash cloud closed much of European airspace
for six days, stranding about ten million travellers.
"""

BAKERY_GUIDE = """# Sourdough at the Riverside Bakery

Our starter is fed twice a day with equal weights of rye flour and water. It was started
in 1987 and is called Bertha.

The dough rests for eighteen hours in the cold room at four degrees before it is shaped.
Loaves bake at 250 degrees for twenty minutes with steam, then forty minutes without.

The bakery opens at seven in the morning and closes when the bread is sold out.
"""


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose text layer holds `lines`: written by hand (objects, a content
    stream with a Helvetica text block, the cross-reference table), as a real PDF is."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL\n"
    stream += "".join(f"({_pdf_string(line)}) Tj T*\n" for line in lines) + "ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{content}\nendobj\n".encode("latin-1")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return body
