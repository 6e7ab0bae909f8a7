"""What the user gives: the target, the argument specs, the call plan."""
