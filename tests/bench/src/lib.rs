//! Benchmarks of the face pipeline and of 1:N search, and the figures made from them.
