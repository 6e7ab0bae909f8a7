"""Text renderers (rich): one module per report kind, the shared parts in `common` and
`failure`."""
