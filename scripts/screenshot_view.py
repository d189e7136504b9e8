"""Screenshots of the review page; run through scripts/screenshot-view (see there)."""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "specdistill"


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def full_page(driver: webdriver.Chrome, path: Path) -> None:
    """A PNG of the whole page, beyond the window (Chrome's DevTools protocol)."""
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {path}")


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build/screenshots/view").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "demo"
        subprocess.run([str(BIN), "quickstart", str(home)], check=True, capture_output=True)
        server = subprocess.Popen(
            [str(BIN), "view", "--home", str(home), "--no-browser", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            origin = url.split("/queue")[0]
            driver = browser()
            try:
                wait = WebDriverWait(driver, 60)
                driver.get(url)
                full_page(driver, out / "1-queue.png")
                first = driver.find_element(By.CSS_SELECTOR, "section.queued")
                first.find_element(By.CSS_SELECTOR, "button.approve").click()
                time.sleep(0.3)
                full_page(driver, out / "2-approve-progress.png")
                wait.until(expected_conditions.presence_of_element_located((By.ID, "result")))
                full_page(driver, out / "3-approve-result.png")
                driver.get(origin + "/queue")
                box = driver.find_element(By.CSS_SELECTOR, "section.queued")
                box.find_element(By.NAME, "reason").send_keys("covered by the prompt fix")
                box.find_element(By.CSS_SELECTOR, "button.reject").click()
                full_page(driver, out / "4-rejected.png")
                driver.get(origin + "/sessions")
                full_page(driver, out / "5-sessions.png")
                driver.get(origin + "/sessions?status=completed")
                full_page(driver, out / "6-sessions-completed.png")
                driver.find_element(By.CSS_SELECTOR, "table.sessions td.id a").click()
                full_page(driver, out / "7-session.png")
                driver.get(origin + "/log")
                full_page(driver, out / "8-log.png")
                driver.get(origin + "/sessions/no-such-session")
                full_page(driver, out / "9-error.png")
            finally:
                driver.quit()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
