#!/usr/bin/python3
"""Sign-ups for bench/signup-mail.sh: P threads, each GETting /register for its form token
and cookie and POSTing the form on the same keep-alive connection, as a browser would.

Why not curl from xargs, as the other benchmarks do: a bash, two curls, mktemp and grep per
sign-up took about as much CPU as the server's own sign-up on the same two cores, so the
client's load moved the tail from run to run more than the change being measured. This
client spends about a millisecond per sign-up.

usage: signup-client.py BASE N P PREFIX
Prints one line per sign-up, "STATUS SECONDS" of the POST (the GET is not timed), in the
order they finished. Emails are PREFIX{i}@exemplo.com.br, i from 1 to N.
"""

import http.client
import re
import sys
import threading
import time
import urllib.parse

TOKEN = re.compile(rb'name="csrf_token" value="([^"]*)"')
PASSWORD = "cavalo correto bateria bench"


def cookies_of(response, jar):
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]


def cookie_header(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def sign_up(host, port, email):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        jar = {}
        conn.request("GET", "/register")
        got = conn.getresponse()
        page = got.read()
        cookies_of(got, jar)
        match = TOKEN.search(page)
        token = match.group(1).decode() if match else ""
        body = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "nome": "Bench",
                "sobrenome": "Mark",
                "email": email,
                "bairro": "JARDIM SÃO JOSÉ",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
                "adult": "1",
                "accept_terms": "1",
            }
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie_header(jar),
        }
        start = time.perf_counter()
        conn.request("POST", "/register", body=body, headers=headers)
        posted = conn.getresponse()
        posted.read()
        return posted.status, time.perf_counter() - start
    except OSError:
        return 0, 0.0
    finally:
        conn.close()


def main():
    base, n, par, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    url = urllib.parse.urlsplit(base)
    next_i = iter(range(1, n + 1))
    lock = threading.Lock()
    out = []

    def work():
        while True:
            with lock:
                i = next(next_i, None)
            if i is None:
                return
            result = sign_up(url.hostname, url.port, f"{prefix}{i}@exemplo.com.br")
            with lock:
                out.append(result)

    threads = [threading.Thread(target=work) for _ in range(par)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.stdout.write("".join(f"{status} {secs:.6f}\n" for status, secs in out))


if __name__ == "__main__":
    main()
