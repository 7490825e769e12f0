"""Hand-written dashboards. Each module here exposes `board(catalog) -> Board | None` and is picked up by
`bongsu build` next to the generated ones (None: the catalog lacks what the dashboard is about)."""
