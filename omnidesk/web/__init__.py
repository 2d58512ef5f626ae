"""HTTP plumbing shared by every context's endpoints: dependencies, errors, middleware."""
