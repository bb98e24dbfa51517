"""Reports for people and tools: the HTML page, the annotated listing, SARIF, and the
terminal tables."""

__all__ = [
    "html_page",
    "listing",
    "sarif",
    "tables",
]
