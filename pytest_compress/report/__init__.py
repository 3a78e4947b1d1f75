"""Reports built from paired results: terminal table (and, later, JSON/Markdown/HTML)."""
