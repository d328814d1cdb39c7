"""Question to cited answer: retrieval, generation and citation checks."""
