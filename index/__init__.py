"""Corpus files to vectors: parse, validate, chunk, embed and store in Chroma."""
