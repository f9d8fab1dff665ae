//! Deterministic generator of the example shop (fixtures and large benchmark stores).
