"""Fonts for fpdf2 documents: parsed once per process, embedded from HarfBuzz subsets.

fpdf2 parses a font file on every `add_font` (Noto Sans CJK: about 0.2 s), measures text by
shaping every prefix of a line while it breaks lines, and when writing the PDF subsets every
registered font, used or not, with fontTools. For the 65,535-glyph CJK font that subsetting
alone took half of a 400 ms document, and even for a subset of a few dozen glyphs fontTools
interprets every CFF outline in Python. Here:

- the parsed tables and the HarfBuzz face of each font are shared, read-only, by every
  document (`LoadedFont`), and each document gets a light `DocumentFont` over them;
- widths measured while breaking lines are remembered per font (the labels are the same on
  every permit), so only text new to the process is shaped just to be measured;
- `SubsetFontOutput` writes the PDF as fpdf2 does, except that it embeds only the fonts the
  document used and cuts their glyphs out with HarfBuzz's subsetter: about 2 ms even for
  the CJK font, so a rare Chinese character in an employer's name costs no more than a
  common one.

The font objects written are fpdf2's own (`fpdf/output.py`, `OutputProducer._add_fonts`,
TrueType and CID-keyed CFF branch), with the same values; only the font program differs in
being cut by HarfBuzz instead of fontTools. This leans on fpdf2 internals, hence its pinned
range (see pyproject.toml).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import uharfbuzz as hb
from fpdf import FPDF
from fpdf.enums import PDFResourceType
from fpdf.fonts import HarfBuzzFont, SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFFontStream,
    _build_cmap_blocks,
    _cid_font_widths,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFString, Raw

log = logging.getLogger(__name__)

# Measured widths kept per font; the dict is emptied when full (a permit's own text adds a
# few hundred entries, the fixed text of one reader's language about two thousand).
WIDTH_CACHE_ENTRIES = 50_000

# Tables fpdf2 drops from every embedded font (and the PDF reader never needs).
_DROPPED_TABLES = (
    "GDEF", "GPOS", "GSUB", "BASE", "JSTF", "MATH", "DSIG", "FFTM", "meta", "hdmx", "sbix",
    "CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR",
)  # fmt: skip

_SUBSET_FLAGS = (
    hb.SubsetFlags.NOTDEF_OUTLINE  # as fpdf2's own subsetting does
    | hb.SubsetFlags.NO_LAYOUT_CLOSURE  # shaping already chose the glyphs
    | hb.SubsetFlags.DESUBROUTINIZE  # CFF: the document's outlines only, no shared routines
)


def _tag(name: str) -> int:
    return int.from_bytes(name.encode("ascii"), "big")


class DocumentFont(TTFFont):
    """One document's view of a shared font: its own glyph subset over shared tables."""

    __slots__ = ("source",)

    source: LoadedFont

    def shaped_text_width(
        self, text: str, font_size_pt: float, text_shaping_params: dict[str, Any] | None
    ) -> tuple[int, float]:
        """fpdf2's shaped width, remembered across documents (line breaking asks it a lot)."""
        params = text_shaping_params or {}
        key = (
            text,
            font_size_pt,
            params.get("fragment_direction"),
            params.get("script"),
            params.get("language"),
            tuple((params.get("features") or {}).items()),
        )
        widths = self.source.widths
        found = widths.get(key)
        if found is None:
            found = super().shaped_text_width(text, font_size_pt, text_shaping_params)
            if len(widths) >= WIDTH_CACHE_ENTRIES:
                widths.clear()
            widths[key] = found
        return found


class LoadedFont:
    """A font file read and parsed once per process, shared by every document."""

    def __init__(self, path: Path) -> None:
        self.path = path
        probe = FPDF()
        probe.add_font("probe", fname=str(path))
        parsed = probe.fonts["probe"]
        assert isinstance(parsed, TTFFont)
        if parsed.is_cff and not parsed.is_cid_keyed:
            raise ValueError(f"{path.name}: name-keyed CFF fonts are not supported")
        # Layout reads the glyph order and the metrics: load them now and close the file,
        # so that documents rendered in parallel threads never read it lazily.
        parsed.ttfont.getReverseGlyphMap()
        parsed.ttfont["hmtx"]
        self.variable = "fvar" in parsed.ttfont
        parsed.ttfont.close()
        template = DocumentFont.__new__(DocumentFont)
        for slot in TTFFont.__slots__:
            if hasattr(parsed, slot):
                setattr(template, slot, getattr(parsed, slot))
        template.source = self
        self.template = template
        self.widths: dict[tuple[Any, ...], tuple[int, float]] = {}
        # Mapped, not copied. hb.subset_preprocess would make each CJK subset 2 ms faster,
        # for 0.4 s at start and 100 MB of memory: not worth it.
        self.face = hb.Face(hb.Blob.from_file_path(str(path)))

    def attach(self, pdf: FPDF, family: str) -> None:
        """Make this font available in `pdf` under `family` (regular style)."""
        font = copy.copy(self.template)
        font.i = len(pdf.fonts) + 1
        font.fontkey = family
        font.subset = SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.desc = copy.copy(self.template.desc)  # writing the PDF sets its name and id
        font._hbfont = HarfBuzzFont(self.face)  # shaping sets its size: one per document
        pdf.fonts[family] = font
        if font.is_cff:
            pdf._set_min_pdf_version("1.6")

    def program(self, glyph_names: list[str]) -> tuple[bytes, dict[str, int]]:
        """The font program to embed for these glyphs, and each glyph's id in it.

        TrueType: the whole subset font file. CID-keyed CFF: its CFF table, whose charset
        keeps each glyph's CID.
        """
        parsed = self.template.ttfont
        old_ids = {name: parsed.getGlyphID(name) for name in glyph_names}
        wanted = hb.SubsetInput()
        glyphs = wanted.glyph_set
        glyphs.add(0)
        if not self.template.is_cff:
            # fontTools (fpdf2's recommended_glyphs) keeps the first four TrueType glyphs.
            for gid in range(1, 4):
                glyphs.add(gid)
        for gid in old_ids.values():
            glyphs.add(gid)
        wanted.flags = _SUBSET_FLAGS
        for table in _DROPPED_TABLES:
            wanted.drop_table_tag_set.add(_tag(table))
        if self.variable:
            # A PDF shows a variable font's default instance: keep only that one.
            wanted.pin_all_axes_to_default(self.face)
        plan = hb.SubsetPlan(self.face, wanted)
        new_ids = plan.old_to_new_glyph_mapping
        subset = plan.execute()
        if subset is None:
            raise RuntimeError(f"HarfBuzz could not subset {self.path.name}")
        data = subset.reference_table("CFF ").data if self.template.is_cff else subset.blob.data
        return bytes(data), {name: new_ids[gid] for name, gid in old_ids.items()}


class SubsetFontOutput(OutputProducer):
    """fpdf2's PDF writer, embedding each used `DocumentFont` from a HarfBuzz subset.

    Use it as `pdf.output(output_producer_class=SubsetFontOutput)`.
    """

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, Any],
        gfxstate_objs_per_name: dict[str, Any],
        pattern_objs_per_name: dict[str, Any],
    ) -> dict[int, Any]:
        # fpdf2 writes any other fonts; it must not see ours.
        registered = self.fpdf.fonts
        ours = {key: font for key, font in registered.items() if isinstance(font, DocumentFont)}
        for key in ours:
            del registered[key]
        try:
            font_objs_per_index: dict[int, Any] = super()._add_fonts(
                image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name
            )
        finally:
            registered.update(ours)
        used = {
            int(str(index))
            for index in self.fpdf._resource_catalog.get_used_resources(PDFResourceType.FONT)
        }
        for font in sorted(ours.values(), key=lambda font: font.i):
            if font.i in used:  # fpdf2 would embed unused fonts too
                font_objs_per_index[font.i] = self._embed(font)
            font._hbfont = None
        # fpdf2 clears these caches after writing (they hold every SubsetMap until then).
        SubsetMap.pick.cache_clear()
        SubsetMap.get_glyph.cache_clear()
        return font_objs_per_index

    def _embed(self, font: DocumentFont) -> PDFFont:
        """fpdf2's objects for one TrueType or CID-keyed CFF font, from a HarfBuzz subset."""
        fontname = f"MPDFAA+{font.name}"
        if font.missing_glyphs:
            # How many, not which: the characters come from names and addresses.
            log.warning("Font %s is missing %d glyphs", fontname, len(font.missing_glyphs))
        glyphs = [(glyph, code) for glyph, code in font.subset.items() if glyph is not None]
        program, new_ids = font.source.program([glyph.glyph_name for glyph, _code in glyphs])

        composite_font_obj = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite_font_obj, "fonts")

        is_cff_cid = font.is_cff
        code_to_cid: dict[int, int] = {}
        cid_widths: dict[int, int] = {}
        if is_cff_cid:
            for glyph, code_mapped in glyphs:
                name = glyph.glyph_name
                cid = int(name[3:]) if name.startswith("cid") and name[3:].isdigit() else None
                if cid is None:
                    cid = glyph.glyph_id
                if cid > 0xFFFF:
                    log.warning("Glyph CID %s of %s exceeds 0xFFFF", cid, font.fontkey)
                    continue
                code_to_cid[code_mapped] = cid
                cid_widths[cid] = glyph.glyph_width
        cid_font_obj = PDFFont(
            subtype="CIDFontType0" if is_cff_cid else "CIDFontType2",
            base_font=fontname,
            d_w=font.desc.missing_width,
            w=(
                _cid_font_widths(cid_widths) if is_cff_cid and cid_widths else _tt_font_widths(font)
            ),
        )
        self._add_pdf_obj(cid_font_obj, "fonts")
        composite_font_obj.descendant_fonts = PDFArray([cid_font_obj])

        # ToUnicode: lets readers search and copy the text.
        bf_chars = []
        for glyph, code_mapped in glyphs:
            if not isinstance(glyph.unicode, tuple) or not glyph.unicode:
                continue
            unicode = "".join(_utf16_hex(code) for code in glyph.unicode)
            bf_chars.append(f"<{code_mapped:04X}> <{unicode}>\n")
        to_unicode_obj = PDFContentStream(
            (
                "/CIDInit /ProcSet findresource begin\n"
                "12 dict begin\n"
                "begincmap\n"
                "/CIDSystemInfo\n"
                "<</Registry (Adobe)\n"
                "/Ordering (UCS)\n"
                "/Supplement 0\n"
                ">> def\n"
                "/CMapName /Adobe-Identity-UCS def\n"
                "/CMapType 2 def\n"
                "1 begincodespacerange\n"
                "<0000> <FFFF>\n"
                "endcodespacerange\n"
                f"{_build_cmap_blocks(bf_chars, 'bfchar')}"
                "endcmap\n"
                "CMapName currentdict /CMap defineresource pop\n"
                "end\n"
                "end"
            ).encode("latin-1")
        )
        self._add_pdf_obj(to_unicode_obj, "fonts")
        composite_font_obj.to_unicode = to_unicode_obj

        registry, ordering, supplement = font.cff_ros or ("Adobe", "Identity", 0)
        if is_cff_cid and code_to_cid:
            cid_mapping = [f"<{code:04X}> {cid}\n" for code, cid in sorted(code_to_cid.items())]
            encoding_cmap_obj = PDFContentStream(
                (
                    "/CIDInit /ProcSet findresource begin\n"
                    "12 dict begin\n"
                    "begincmap\n"
                    "/CIDSystemInfo\n"
                    f"<</Registry ({registry})\n"
                    f"/Ordering ({ordering})\n"
                    f"/Supplement {supplement}\n"
                    ">> def\n"
                    f"/CMapName /{registry}-{ordering}-UCS def\n"
                    "/CMapType 2 def\n"
                    "1 begincodespacerange\n"
                    "<0000> <FFFF>\n"
                    "endcodespacerange\n"
                    f"{_build_cmap_blocks(cid_mapping, 'cidchar')}"
                    "endcmap\n"
                    "CMapName currentdict /CMap defineresource pop\n"
                    "end\n"
                    "end"
                ).encode("latin-1")
            )
            encoding_cmap_obj.type = Name("CMap")  # type: ignore[attr-defined]
            encoding_cmap_obj.c_map_name = Name(  # type: ignore[attr-defined]
                f"{registry}-{ordering}-UCS"
            )
            encoding_cmap_obj.c_i_d_system_info = Raw(  # type: ignore[attr-defined]
                f"<< /Registry ({registry}) /Ordering ({ordering}) /Supplement {supplement} >>"
            )
            self._add_pdf_obj(encoding_cmap_obj, "fonts")
            composite_font_obj.encoding = encoding_cmap_obj  # type: ignore[assignment]

        cid_system_info_obj = CIDSystemInfo()
        if is_cff_cid and font.cff_ros:
            cid_system_info_obj.registry = PDFString(registry, encrypt=True)
            cid_system_info_obj.ordering = PDFString(ordering, encrypt=True)
            cid_system_info_obj.supplement = supplement
        self._add_pdf_obj(cid_system_info_obj, "fonts")
        cid_font_obj.c_i_d_system_info = cid_system_info_obj

        font_descriptor_obj = font.desc
        font_descriptor_obj.font_name = Name(fontname)
        self._add_pdf_obj(font_descriptor_obj, "fonts")
        cid_font_obj.font_descriptor = font_descriptor_obj

        if not is_cff_cid:
            # CIDToGIDMap: two bytes (the glyph id in the subset) per 16-bit code.
            cid_to_gid = bytearray(2 * 65536)
            for glyph, code_mapped in glyphs:
                gid = new_ids[glyph.glyph_name]
                cid_to_gid[2 * code_mapped] = gid >> 8
                cid_to_gid[2 * code_mapped + 1] = gid & 0xFF
            cid_to_gid_map_obj = PDFContentStream(contents=bytes(cid_to_gid), compress=True)
            self._add_pdf_obj(cid_to_gid_map_obj, "fonts")
            cid_font_obj.c_i_d_to_g_i_d_map = cid_to_gid_map_obj

        font_file_cs_obj = PDFFontStream(contents=program)
        if is_cff_cid:
            font_file_cs_obj.subtype = Name("CIDFontType0C")  # type: ignore[attr-defined]
        self._add_pdf_obj(font_file_cs_obj, "fonts")
        if is_cff_cid:
            font_descriptor_obj.font_file3 = font_file_cs_obj  # type: ignore[attr-defined]
        else:
            font_descriptor_obj.font_file2 = font_file_cs_obj  # type: ignore[attr-defined]
        return composite_font_obj


def _utf16_hex(code: int) -> str:
    """A code point as UTF-16BE hex digits (a surrogate pair above U+FFFF)."""
    if code > 0xFFFF:
        high = 0xD800 | (code - 0x10000) >> 10
        low = 0xDC00 | (code & 0x3FF)
        return f"{high:04X}{low:04X}"
    return f"{code:04X}"
