#!/usr/bin/env python3
"""Feeds on many loopback hosts, each answered after a delay: the server of the concurrent-fetch
case of scripts/bench (BENCHMARKS.md).

Listens on 127.0.0.2 … 127.0.0.<HOSTS + 1>, one port for all (Linux routes all of 127.0.0.0/8 to
`lo`, so no setup is needed), prints the port on stdout once every address listens, and serves
until killed. Every `GET /<name>` is answered after DELAY_MS milliseconds with a small RSS
document holding one item whose link is unique to the host and path.

Usage: feed_server.py HOSTS DELAY_MS
"""

import asyncio
import socket
import sys


def free_port(ips):
    """A port free on every address of `ips`."""
    while True:
        probe = socket.socket()
        probe.bind((ips[0], 0))
        port = probe.getsockname()[1]
        probe.close()
        try:
            for ip in ips:
                s = socket.socket()
                s.bind((ip, port))
                s.close()
            return port
        except OSError:
            continue


def feed(host, path):
    link = "https://%s.example%s" % (host.replace(".", "-"), path)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>%s%s</title><link>https://example.org/</link>"
        "<item><title>Item %s%s</title><link>%s</link>"
        "<pubDate>Tue, 02 Jul 2024 10:00:00 GMT</pubDate></item></channel></rss>"
        % (host, path, host, path, link)
    ).encode()


async def main():
    hosts, delay = int(sys.argv[1]), int(sys.argv[2]) / 1000
    ips = ["127.0.0.%d" % (i + 2) for i in range(hosts)]
    port = free_port(ips)

    async def answer(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1")
            host = writer.get_extra_info("sockname")[0]
            await asyncio.sleep(delay)
            body = feed(host, path)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(answer, ip, port, backlog=512) for ip in ips]
    print(port, flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
