"""How the recorder starts each browser headless: command line, fresh profile, version."""
import os
import subprocess
from typing import Dict, List, Tuple

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # needed as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--allow-loopback-in-peer-connection",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    # Host candidates as addresses, not mDNS names (the page has no camera permission prompt to
    # lift the obfuscation in the data-channel-only scenarios).
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]

# user.js of the fresh Firefox profile: no updates, telemetry, remote settings, or any other
# outside connection; fake media; ICE on loopback with plain host addresses.
FIREFOX_PREFS: Dict[str, object] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.peerconnection.ice.default_address_only": False,
    "media.peerconnection.default_iceservers": "[]",
    "privacy.reduceTimerPrecision": False,  # performance.now() to the microsecond, not 1 ms
    "media.gmp-manager.updateEnabled": False,
    "media.gmp-manager.url": "",
    "app.update.auto": False,
    "app.update.enabled": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.search.update": False,
    "browser.region.update.enabled": False,
    "browser.region.network.url": "",
    "browser.sessionstore.resume_from_crash": False,
    "browser.topsites.contile.enabled": False,
    "browser.ping-centre.telemetry": False,
    "captivedetect.canonicalURL": "",
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "dom.push.connection.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.blocklist.enabled": False,
    "geo.provider.network.url": "",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.predictor.enabled": False,
    "network.prefetch-next": False,
    "network.proxy.type": 0,
    "network.trr.mode": 5,
    "security.OCSP.enabled": 0,
    "services.settings.server": "http://127.0.0.1:1/",
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "toolkit.startup.max_resumed_crashes": -1,
}

BINARIES = {"chromium": "chromium", "firefox": "firefox-esr"}
PACKAGES = {"chromium": "chromium", "firefox": "firefox-esr"}


def version(browser: str) -> str:
    """The browser's own version line (e.g. 'Chromium 156.0.8078.114 ...')."""
    r = subprocess.run([BINARIES[browser], "--version"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HOME="/tmp"))
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "unknown"


def command(browser: str, profile: str, url: str) -> Tuple[List[str], Dict[str, str]]:
    """The command line and environment that open url in a fresh profile directory."""
    env = dict(os.environ, HOME=profile)
    if browser == "chromium":
        return [BINARIES[browser], *CHROMIUM_FLAGS, f"--user-data-dir={profile}", url], env
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in FIREFOX_PREFS.items():
            js = "true" if v is True else "false" if v is False else repr(v) if isinstance(v, int) else f'"{v}"'
            f.write(f'user_pref("{k}", {js});\n')
    env["MOZ_HEADLESS"] = "1"
    env["MOZ_CRASHREPORTER_DISABLE"] = "1"
    return [BINARIES[browser], "--headless", "--no-remote", "--profile", profile, url], env
