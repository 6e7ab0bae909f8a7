"""HTML renderers: one self-contained page per trace or diff report, one module per report kind,
the page and its shared pieces in `page`, a failure's section in `failure`."""
