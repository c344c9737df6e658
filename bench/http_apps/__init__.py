"""Baseline FastAPI apps for bench/http.py (uvicorn factories), beside Pressroom's own API."""
