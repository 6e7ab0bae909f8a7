"""Model code: attention, module systems, mixture of experts, recurrent nets, transforms."""
