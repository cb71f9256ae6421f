"""How fast a broadcast may go out on each kind of channel.

Providers limit senders: a Telegram bot about 30 messages a second overall
(OmniTUI keeps to 25), a Twilio long code one SMS segment a second, a mail
server what the shop's plan allows a minute. The hub sends a broadcast's
messages one at a time per channel account, each after the time its
predecessor costs at that rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnitui.domain.models import ChannelKind
from omnitui.domain.sms import count_segments


@dataclass(frozen=True, slots=True)
class Pace:
    telegram_per_second: float = 25.0
    sms_segments_per_second: float = 1.0
    email_per_minute: float = 60.0
    line_per_second: float = 20.0

    def seconds_for(self, kind: ChannelKind, text: str) -> float:
        """The time one message of `text` costs on a channel of `kind`."""
        if kind is ChannelKind.SMS:
            return count_segments(text).segments / self.sms_segments_per_second
        if kind is ChannelKind.EMAIL:
            return 60.0 / self.email_per_minute
        if kind is ChannelKind.TELEGRAM:
            return 1.0 / self.telegram_per_second
        return 1.0 / self.line_per_second
