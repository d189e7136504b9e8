"""A screenshot of the quickstart's report.html; run through scripts/screenshot-report."""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "specdistill"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build/screenshots/report.png")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "demo"
        subprocess.run([str(BIN), "quickstart", "--home", str(home)], check=True,
                       capture_output=True)  # fmt: skip
        [report] = sorted(home.glob("learning/sessions/*/report.html"))
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(report.as_uri())
            shot = driver.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
            )
        finally:
            driver.quit()
    out.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
