"""Values written the way Go writes them: time.Duration.String, json.Marshal of a time, %q.

Atlas prints durations, times and quoted statements with Go's formatting; the
engine's output matches it byte for byte (Go's time/format.go, strconv/quote.go).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time as json.Marshal writes it


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 0s, 850ns, 1.5µs, 1.234567ms, 2.5s, 1m2.5s, 1h0m0s."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(int(ns))
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_frac(u, 3)}µs"
        return f"{sign}{_frac(u, 6)}ms"
    whole, frac = divmod(u, 1_000_000_000)
    secs = f"{whole % 60}{_frac_digits(frac, 9)}s"
    minutes = whole // 60
    if not minutes:
        return sign + secs
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{sign}{minutes}m{secs}"
    return f"{sign}{hours}h{minutes}m{secs}"


def _frac_digits(v: int, prec: int) -> str:
    digits = str(v).rjust(prec, "0").rstrip("0")
    return "." + digits if digits else ""


def _frac(u: int, prec: int) -> str:
    whole, frac = divmod(u, 10**prec)
    return f"{whole}{_frac_digits(frac, prec)}"


def go_time(dt: datetime | None) -> str:
    """A time as Go's json.Marshal writes it (RFC 3339, trailing zeros trimmed)."""
    if dt is None:
        return ZERO_TIME
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        base += "." + f"{dt.microsecond:06d}".rstrip("0")
    off = dt.utcoffset() or timedelta(0)
    if not off:
        return base + "Z"
    total = int(off.total_seconds())
    sign = "+" if total >= 0 else "-"
    hh, mm = divmod(abs(total) // 60, 60)
    return f"{base}{sign}{hh:02d}:{mm:02d}"


def go_quote(s: str) -> str:
    """Go's %q of a string (strconv.Quote)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif 0xDC80 <= o <= 0xDCFF:  # a byte kept by surrogateescape
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)
