"""Baseline FastAPI apps for bench/http_bench.py (uvicorn factories), beside Pressroom's own API."""
