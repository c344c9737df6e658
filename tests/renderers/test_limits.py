"""Process limits for the render child and limits read from the environment."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pressroom.renderers.limits import RenderLimits
from pressroom.renderers.settings import RendererSettings


def test_process_limits_stop_a_runaway_allocation() -> None:
    """After apply_process_limits, allocating past RLIMIT_AS raises MemoryError in the child."""
    code = textwrap.dedent(
        """
        import resource
        from pressroom.renderers.limits import apply_process_limits
        apply_process_limits(memory_bytes=512 * 1024 * 1024, cpu_seconds=30)
        print(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_CPU))
        try:
            block = bytearray(1024 * 1024 * 1024)
        except MemoryError:
            print("memory-error")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stdout.split("\n")
    assert lines[0].startswith(str(512 * 1024 * 1024))
    assert "(30, 35)" in lines[0]
    assert "memory-error" in done.stdout


def test_limits_and_settings_from_environment() -> None:
    """PRESSROOM_RENDER_* and related variables configure limits and settings."""
    env = {
        "PRESSROOM_RENDER_MAX_PAGES": "50",
        "PRESSROOM_RENDER_MEMORY_MB": "0",
        "PRESSROOM_RENDER_ALLOWED_HOSTS": "cdn.example.com, *.assets.example",
        "PRESSROOM_CHROMIUM_PATH": "/opt/chromium",
    }
    settings = RendererSettings.from_env(env)
    assert settings.limits.max_pages == 50 and settings.limits.memory_bytes is None
    assert settings.allowed_hosts == ("cdn.example.com", "*.assets.example")
    assert settings.chromium_path == "/opt/chromium"
    assert RenderLimits().with_page_cap(10).max_pages == 10
    assert RenderLimits().with_page_cap(10**9).max_pages == RenderLimits().max_pages
