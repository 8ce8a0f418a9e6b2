"""Layer tests (a package, so test modules here never clash with same-named ones elsewhere)."""
