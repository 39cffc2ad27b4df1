"""National cryptography (SM2, SM3, SM4) and the platform's key handling."""
