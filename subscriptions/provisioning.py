"""Provisioning: tell the vendor system behind a product type to set a subscription up.

A product type names an integration (``ProductType.integration`` holds the code of a
``catalogue.models.Integration``); the integration's connector kind picks a provisioner
from ``PROVISIONERS``, the same way it picks the Get-Services-Definition connector in
``catalogue.gsd.CONNECTORS``. A subscription of a product whose type has an active
integration with a provisioner is created **Pending** (a trial stays Trial) and, after
the creating transaction commits, ``provisioning_tasks.provision_subscription`` sends
the request over HTTP, outside any transaction, and records the answer:

* success: the subscription becomes Active (``services.subscription_mark_provisioned``);
* failure, including an unreachable endpoint or a timeout: it becomes Failed with the
  reason (``services.subscription_mark_failed``), shown on the subscription page;
* Reprovision (page and API) puts a failed one back to Pending and queues it again.

Every request carries an *attempt*: the id of the change row that put the subscription
into provisioning (its creation or its latest reprovision). The vendor receives it in
``request_id`` and the ``Idempotency-Key`` header; the outcome is recorded only while
that attempt is still the current one and the subscription still waits, so a task
delivered twice, or a late answer to an old attempt, changes nothing.

Lifecycle actions. Once a subscription is provisioned (``provisioning_status`` is not
``not_required``), its later lifecycle changes are attempts too (``LIFECYCLE_KINDS``):
suspension (``suspend``), activation after suspension (``resume``), cancellation
(``cancel``: immediate, a trial ended early, add-ons and bundle components ended with
their subscription, and a scheduled cancellation when the billing run completes it),
quantity change (``change_quantity``), expiry (``expire``: a trial nobody upgraded,
a term without renewal; the vendor deprovisions) and upgrades (the source ended:
``cancel``; the source keeping seats, or an existing target receiving them:
``change_quantity``; a new target is created as any subscription). ``services.record_change`` calls
``lifecycle_changed`` for every row it writes: the row becomes the current attempt, the
subscription's provisioning goes back to ``pending`` and the request is queued after
the transaction commits. The business status has already changed and never waits for
the vendor (a cancel is a cancel); the answer only sets ``provisioning_status`` to
``synced``, or ``failed`` with ``provisioning_error``, shown on the page like a failed
creation.

* Retry: a failed lifecycle action is retried with Reprovision (page and API): a new
  ``reprovisioned`` row whose ``details`` keep the failed action
  (``{"provisioning_action": "suspend"}``) sends that action again under a new request
  id (the vendor may have stored the refusal under the old key). A failed creation is
  retried as before (``reprovision``). For a bundle, Reprovision retries each failed
  component, whichever kind of attempt failed.
* Order: only the current attempt is sent. When a suspension is followed by the
  resumption before its job ran, the vendor receives only ``resume``; each request
  carries the subscription's status and quantity after the change, so the latest
  request describes the whole state. A job holds the subscription's sending lock while
  its request is on the wire (``provisioning_tasks.sending_lock``), so requests of one
  subscription never cross: they reach the vendor in the order of their attempts.
* Bundles: the bundle is never provisioned; a bundle quantity change writes a
  ``quantity`` row on each provisioned component (no period: components are never
  charged), which is that component's attempt; cancelling or ending the bundle ends the
  components with their own ``cancel``/``expired`` rows, and so their own requests.
* Not sent: a scheduled cancellation (the vendor keeps serving until it takes effect),
  its revocation, renewals, upgrades and downgrades (a product change) and pricing.

The generic JSON provisioner (kind ``generic_json``) POSTs to the integration's endpoint::

    {
      "action": "create",                   create | reprovision | suspend | resume |
                                            cancel | change_quantity | expire
      "request_id": "SUB-0000042-17",       number and attempt; the same for a retry
      "subscription": {"number": "SUB-0000042", "name": "...", "start_date": "2026-07-01",
                       "trial": false, "status": "active", "end_date": null},
      "account": {"number": "ACC-0000007", "name": "Acme"},
      "product": {"sku": "M365-BB", "name": "Business Basic", "product_type": "M365"},
      "plan": {"billing_cycle": "monthly", "commitment_months": 12},
      "quantity": 10,                       after the change
      "attributes": {"domain": "acme.example"}
    }

with the integration's authentication header, and expects HTTP 2xx with
``{"status": "succeeded"}`` or ``{"status": "failed", "message": "why"}``. Any other HTTP
status is a failure whose reason includes the body's ``message`` when there is one.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.models import Integration, Product
from subscriptions.models import (
    ChangeKind,
    ProvisioningStatus,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024
MAX_REASON_LENGTH = 300


class ProvisioningAction:
    CREATE = "create"
    REPROVISION = "reprovision"
    SUSPEND = "suspend"
    RESUME = "resume"
    CANCEL = "cancel"
    CHANGE_QUANTITY = "change_quantity"
    EXPIRE = "expire"


# The change rows that set a subscription up, and the action each one asks for.
SETUP_KINDS = {
    ChangeKind.CREATED: ProvisioningAction.CREATE,
    ChangeKind.TRIAL_STARTED: ProvisioningAction.CREATE,
    ChangeKind.REPROVISIONED: ProvisioningAction.REPROVISION,
}
# The lifecycle changes of a provisioned subscription that the vendor is told about.
LIFECYCLE_KINDS = {
    ChangeKind.SUSPENDED: ProvisioningAction.SUSPEND,
    ChangeKind.RESUMED: ProvisioningAction.RESUME,
    ChangeKind.CANCEL: ProvisioningAction.CANCEL,
    ChangeKind.QUANTITY: ProvisioningAction.CHANGE_QUANTITY,
    ChangeKind.EXPIRED: ProvisioningAction.EXPIRE,
}
# Upgrades decide their action from the row: seats moved away leave the source ended
# (cancel) or smaller (change_quantity); seats moved into an existing target raise it.
UPGRADE_KINDS = (ChangeKind.UPGRADE_OUT, ChangeKind.UPGRADE_IN)
# The change rows that start an attempt.
ATTEMPT_KINDS = (*SETUP_KINDS, *LIFECYCLE_KINDS, *UPGRADE_KINDS)
# Where a retry of a failed lifecycle action keeps that action (``details`` of its row).
RETRIED_ACTION = "provisioning_action"


@dataclass(frozen=True)
class ProvisioningRequest:
    action: str
    request_id: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProvisioningResult:
    succeeded: bool
    message: str = ""

    @classmethod
    def failure(cls, message: str) -> ProvisioningResult:
        return cls(succeeded=False, message=message[:MAX_REASON_LENGTH])


# --------------------------------------------------------------------------- provisioners


class Provisioner(ABC):
    """Sets subscriptions up in one kind of vendor system; register with ``register_provisioner``."""

    kind: str
    label: Any

    @abstractmethod
    def provision(
        self, integration: Integration, request: ProvisioningRequest
    ) -> ProvisioningResult:
        """The vendor's answer; never raises for a vendor or network problem."""


PROVISIONERS: dict[str, Provisioner] = {}


def register_provisioner(provisioner: Provisioner) -> None:
    PROVISIONERS[provisioner.kind] = provisioner


def get_provisioner(kind: str) -> Provisioner | None:
    return PROVISIONERS.get(kind)


def _body_message(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict):
        message = data.get("message") or data.get("error") or ""
        if isinstance(message, dict):
            message = message.get("message", "")
        return str(message).strip()
    return ""


def _read_limited(response: Any, deadline: float) -> bytes | None:
    """The answer, or None when it is too large or too slow."""
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(8192):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES or time.monotonic() > deadline:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def post_json(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret_headers: Mapping[str, str],
    idempotency_key: str,
    timeout: int,
) -> ProvisioningResult:
    """POST ``payload`` and read the vendor's verdict; every problem is a failure with a reason.

    ``timeout`` bounds the whole exchange, not only each socket read. Redirects are not
    followed: a provisioning request is not repeated somewhere else.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        return ProvisioningResult.failure(
            _("The endpoint %(url)s is not an http or https address.") % {"url": url}
        )
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "bss-provisioning/1",
            "Idempotency-Key": idempotency_key,
        },
    )
    for name, value in secret_headers.items():
        request.add_unredirected_header(name, value)
    opener = urllib.request.build_opener(_NoRedirects)
    too_slow = ProvisioningResult.failure(
        _("The provisioning endpoint did not answer within %(seconds)s seconds.")
        % {"seconds": timeout}
    )
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = _read_limited(response, deadline)
    except HTTPError as error:
        detail = _body_message(error.read(MAX_ANSWER_BYTES) or b"")
        error.close()
        reason = _("The provisioning endpoint answered HTTP %(code)s %(reason)s.") % {
            "code": error.code,
            "reason": error.reason,
        }
        return ProvisioningResult.failure(f"{reason} {detail}".strip())
    except TimeoutError:
        return too_slow
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            return too_slow
        return ProvisioningResult.failure(
            _("The provisioning endpoint cannot be reached: %(reason)s.") % {"reason": error.reason}
        )
    except (HTTPException, OSError) as error:
        return ProvisioningResult.failure(
            _("The connection to the provisioning endpoint failed: %(error)s.") % {"error": error}
        )
    if raw is None:
        return (
            too_slow
            if time.monotonic() > deadline
            else ProvisioningResult.failure(
                _("The provisioning answer is larger than %(size)s KB.")
                % {"size": MAX_ANSWER_BYTES // 1024}
            )
        )
    return read_verdict(raw)


def read_verdict(raw: bytes) -> ProvisioningResult:
    """``{"status": "succeeded"}`` or ``{"status": "failed", "message": ...}``."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return ProvisioningResult.failure(_("The provisioning answer is not valid JSON."))
    status = data.get("status") if isinstance(data, dict) else None
    if status == "succeeded":
        return ProvisioningResult(succeeded=True, message=str(data.get("message", ""))[:300])
    if status == "failed":
        message = str(data.get("message") or "").strip()
        return ProvisioningResult.failure(
            message or _("The vendor refused the request without a reason.")
        )
    return ProvisioningResult.failure(
        _('The provisioning answer has no "status" of "succeeded" or "failed".')
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        return None


class GenericJsonProvisioner(Provisioner):
    kind = "generic_json"
    label = gettext_lazy("Generic JSON (POST to the endpoint)")

    def provision(
        self, integration: Integration, request: ProvisioningRequest
    ) -> ProvisioningResult:
        secret = (
            {integration.auth_header: integration.auth_token}
            if integration.auth_token and integration.auth_header
            else {}
        )
        return post_json(
            integration.endpoint_url,
            {"action": request.action, "request_id": request.request_id, **request.payload},
            secret_headers=secret,
            idempotency_key=request.request_id,
            timeout=integration.timeout_seconds,
        )


register_provisioner(GenericJsonProvisioner())


# ------------------------------------------------------------------------------ lookups


def integration_for(product: Product) -> Integration | None:
    """The active integration that provisions ``product``, if its type has one.

    A bundle is never provisioned itself: its component subscriptions are.
    """
    product_type = product.product_type
    if product.kind == Product.Kind.BUNDLE or product_type is None:
        return None
    if not product_type.integration:
        return None
    integration = Integration.objects.filter(code=product_type.integration, is_active=True).first()
    if integration is None or get_provisioner(integration.connector) is None:
        return None
    return integration


def needs_provisioning(product: Product) -> bool:
    return integration_for(product) is not None


def current_attempt(subscription: Subscription) -> SubscriptionChange | None:
    """The change row that started the subscription's latest provisioning attempt."""
    return (
        SubscriptionChange.objects.filter(subscription=subscription, kind__in=ATTEMPT_KINDS)
        .order_by("-pk")
        .first()
    )


def action_of(attempt: SubscriptionChange) -> str:
    """What the attempt asks the vendor for; a retry keeps the action it retries."""
    retried = (attempt.details or {}).get(RETRIED_ACTION)
    if retried:
        return retried
    if attempt.kind in SETUP_KINDS:
        return SETUP_KINDS[attempt.kind]
    action = lifecycle_action(attempt)
    assert action is not None, f"{attempt.kind} is not a provisioning attempt"
    return action


def lifecycle_action(change: SubscriptionChange) -> str | None:
    """What a change of a provisioned subscription asks the vendor for, if anything."""
    if change.kind in LIFECYCLE_KINDS:
        return LIFECYCLE_KINDS[change.kind]
    if change.kind == ChangeKind.UPGRADE_OUT:
        if change.new_status == SubscriptionStatus.CANCELED:
            return ProvisioningAction.CANCEL
        return ProvisioningAction.CHANGE_QUANTITY
    if change.kind == ChangeKind.UPGRADE_IN:
        return ProvisioningAction.CHANGE_QUANTITY
    return None


def is_setup(attempt: SubscriptionChange) -> bool:
    """The attempt sets the subscription up (create or reprovision), not a later change."""
    return action_of(attempt) in (ProvisioningAction.CREATE, ProvisioningAction.REPROVISION)


def is_waiting(subscription: Subscription, attempt_id: int) -> bool:
    """Still waiting for exactly this attempt's answer (else the answer is ignored).

    A lifecycle change is a newer attempt, so a canceled subscription no longer waits
    for the answer to its creation, but does wait for the answer to its cancellation.
    """
    if subscription.provisioning_status != ProvisioningStatus.PENDING:
        return False
    attempt = current_attempt(subscription)
    return attempt is not None and attempt.pk == attempt_id


def is_provisioned(subscription: Subscription) -> bool:
    """The vendor knows (or is being told about) this subscription: tell it what changes."""
    return subscription.provisioning_status != ProvisioningStatus.NOT_REQUIRED


def lifecycle_changed(subscription: Subscription, change: SubscriptionChange) -> None:
    """A change row was written: if the vendor must hear about it, it is the new attempt.

    Called by ``services.record_change`` (and the trial expiry) inside the operation's
    transaction: the subscription waits for the vendor again (``pending``) and the
    request goes out once the transaction commits. The business status is already
    changed and stays whatever the vendor answers.
    """
    if lifecycle_action(change) is None or not is_provisioned(subscription):
        return
    subscription.provisioning_status = ProvisioningStatus.PENDING
    subscription.provisioning_error = ""
    # The caller may save only its own fields (or nothing yet, like the billing run's
    # roll): write the provisioning fields here so they are not lost.
    Subscription.objects.filter(pk=subscription.pk).update(
        provisioning_status=ProvisioningStatus.PENDING,
        provisioning_error="",
        updated_at=timezone.now(),
    )
    queue_provisioning(subscription.pk, change.pk)


def build_request(subscription: Subscription, attempt: SubscriptionChange) -> ProvisioningRequest:
    product = subscription.product
    return ProvisioningRequest(
        action=action_of(attempt),
        request_id=f"{subscription.number}-{attempt.pk}",
        payload={
            "subscription": {
                "number": subscription.number,
                "name": subscription.display_name,
                "start_date": subscription.start_date.isoformat(),
                "trial": subscription.status == SubscriptionStatus.TRIAL,
                "status": subscription.status,
                "end_date": subscription.ended_on.isoformat() if subscription.ended_on else None,
            },
            "account": {"number": subscription.account.number, "name": subscription.account.name},
            "product": {
                "sku": product.code,
                "name": product.name,
                "product_type": product.product_type.code if product.product_type else "",
            },
            "plan": {
                "billing_cycle": subscription.plan.billing_cycle,
                "commitment_months": subscription.plan.commitment_months,
            },
            "quantity": subscription.quantity,
            "attributes": subscription.provisioning_attributes or {},
        },
    )


def queue_provisioning(subscription_id: int, attempt_id: int) -> None:
    """Send the attempt to a worker once the current transaction commits."""
    transaction.on_commit(lambda: _send(subscription_id, attempt_id))


def _send(subscription_id: int, attempt_id: int) -> None:
    # Imported here: the task module imports the services, which import this module.
    from subscriptions.provisioning_tasks import provision_subscription

    try:
        provision_subscription.delay(subscription_id, attempt_id)
    except Exception:
        # The subscription is committed and waits: failing the caller now would undo
        # nothing, and the sweep sends the attempt once the broker is back.
        logger.exception(
            "provisioning: subscription %s not queued; the sweep sends it later", subscription_id
        )
