"""The knowledge base: articles, known problems and cases, with Chinese full-text search
(segmentation, synonyms, highlighted snippets).
"""
