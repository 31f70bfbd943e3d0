"""Encoders: raw modality content → vectors."""
