"""Why a trace failed, and the fixes jaxexplain verified."""
