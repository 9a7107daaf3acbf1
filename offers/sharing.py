"""Sending a shared offer by email: the PDF attached and the public link in the text.

Runs after the share's transaction commits (an SMTP call never holds a database lock).
The notifications module will later take over the wording through its templates.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from offers.models import Offer
from offers.pdf import offer_language, render_offer_pdf

logger = logging.getLogger(__name__)


def send_offer_email(*, offer_id: int, recipients: list[str], message: str, link: str) -> None:
    offer = Offer.objects.select_related("account", "owner").get(pk=offer_id)
    with translation.override(offer_language(offer)):
        subject = _("Offer %(number)s: %(name)s") % {"number": offer.number, "name": offer.name}
        lines = [
            message.strip() or _("Please find our offer attached."),
            "",
            _("View, accept or decline it online: %(link)s") % {"link": link},
            _("The offer is valid until %(date)s.") % {"date": offer.valid_until.isoformat()},
        ]
    email = EmailMessage(
        subject=subject,
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=[offer.owner.email] if offer.owner.email else None,
        headers={"X-BSS-Offer": offer.number},
    )
    email.attach(f"{offer.number}.pdf", render_offer_pdf(offer), "application/pdf")
    email.send(fail_silently=False)
    logger.info("offer %s emailed to %d recipient(s)", offer.number, len(recipients))
