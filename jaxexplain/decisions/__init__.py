"""The Python decisions baked into a trace: recorded while tracing, resolved, listed."""
