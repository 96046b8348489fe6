"""A real SMTP server for the invite e-mail tests: aiosmtpd's Controller with a handler that
writes each message it accepts as one JSON file (envelope recipients, headers, decoded text body)
into a directory. Usage: python3 smtp_sink.py PORT DIR. Prints "ready" once it accepts connections.
"""

import email
import json
import os
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller


class JsonDir:
    def __init__(self, out):
        self.out = out
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        part = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "body": part.get_content() if part is not None else "",
        }
        with self.lock:
            self.count += 1
            path = os.path.join(self.out, "%05d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    controller = Controller(JsonDir(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
