"""Pure diffs of two reports: keys, decisions, figures and the aligned jaxprs."""
