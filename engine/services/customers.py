"""Use cases of customers: their profile and orders, their data on request, tiers, campaigns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.customers import campaigns, handtiers, loyalty, privacy, profiles, tiers
from engine.errors import InvalidInput, NotFound
from engine.files import blobs
from engine.files import records as files
from engine.records import versions
from engine.services.base import ServiceBase
from engine.store.models import Customer, Order, Record


class CustomerServices(ServiceBase):
    """Customers and what is done for them (R-5, R-8.3)."""

    def save_customer(self, number: str, values: Mapping[str, Any]) -> tuple[Customer, bool]:
        """Create or update a customer; their tiers follow at once (R-5.1), and a tier set by
        hand is entered as a computed one is (R-5.2)."""
        with self.uow() as uow:
            now = self.clock.now()
            before = tiers.hand_tier(uow.session, number)
            customer, created = profiles.upsert_customer(uow.session, number, values, now)
            if "tier" in values:  # entered as a computed tier is: its task and welcome (R-5.2)
                changes = {customer.id: (before, customer.tier)}
                handtiers.enter(uow.session, self.latest_specs(uow.session), changes, now)
            if values.get("referred_by"):
                self._referral(uow.session, customer, str(values["referred_by"]), now)
            self._retier(uow.session, [customer.id], now)
            uow.commit()
            return customer, created

    def _referral(self, session: Any, customer: Customer, referrer: str, now: datetime) -> None:
        """Note who referred the customer (R-4.4, R-5.4); a customer cannot refer themself."""
        try:
            found = profiles.get_customer(session, referrer)
        except NotFound:
            raise InvalidInput(
                f"no customer with number '{referrer}' to have referred them",
                fields={"referred_by": "the number of an existing customer"},
            ) from None
        if found.id == customer.id:
            raise InvalidInput(
                "a customer cannot refer themself", fields={"referred_by": "another customer"}
            )
        loyalty.refer(session, customer.id, found.id, now)

    def export_customer(self, number_or_contact: str) -> dict[str, Any]:
        """All that is stored about a customer, for a request of theirs (R-8.3)."""
        with self.uow() as uow:
            customer = privacy.find_customer(uow.session, number_or_contact)
            return privacy.export(uow.session, customer)

    def erase_customer(self, number_or_contact: str, *, actor: str) -> int:
        """Erase the person, keep the statistics and the audit trail; returns records scrubbed."""
        with self.uow() as uow:
            customer = privacy.find_customer(uow.session, number_or_contact)

            def personal(record: Record) -> frozenset[str]:
                rtype = self.specs.get(uow.session, record.pack_version_id).record_types.get(
                    record.record_type
                )
                fields = rtype.fields.items() if rtype else ()
                return frozenset(name for name, spec in fields if spec.is_personal)

            erased = privacy.erase(uow.session, customer, personal, actor, self.clock.now())
            uow.commit()
            # Once the rows are gone for good: the files no other row names (identical files
            # are stored once). One stored that very moment may lose its bytes (docs/files.md).
            blobs.current().discard(files.unreferenced(uow.session, set(erased.files)))
            return erased.records

    def record_order(self, number: str, values: Mapping[str, Any]) -> tuple[Order, bool]:
        """Store a purchase (once per external id); the customer's tiers follow at once."""
        with self.uow() as uow:
            now = self.clock.now()
            order, created = profiles.add_order(uow.session, number, values, now)
            self._retier(uow.session, [order.customer_id], now)
            uow.commit()
            return order, created

    def recompute_tiers(self) -> dict[str, tiers.TierRun]:
        """Every customer's tier in every pack that declares tiers, one transaction per pack."""
        runs = {}
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            spec = self.specs.of(version)
            if not spec.tiers:
                continue
            with self.uow() as uow:
                runs[spec.name] = tiers.recompute(uow.session, spec, self.clock.now())
                uow.commit()
        return runs

    def award_points(self) -> dict[str, int]:
        """Loyalty points every pack's programme gives and its ledger lacks (R-5.4), one
        transaction per pack; the entries added."""
        added = {}
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            spec = self.specs.of(version)
            if spec.insight.loyalty is None:
                continue
            with self.uow() as uow:
                added[spec.name] = loyalty.award(uow.session, spec, self.clock.now())
                uow.commit()
        return added

    def run_campaigns(
        self, *, replay_from: datetime | None = None
    ) -> list[campaigns.CampaignResult]:
        """Every campaign of every pack up to now, one transaction per campaign (R-5.3)."""
        results = []
        with self.uow() as uow:
            packs = versions.latest_versions(uow.session)
        for version in packs:
            spec = self.specs.of(version)
            for campaign in campaigns.all_campaigns(spec).values():
                with self.uow() as uow:
                    results.append(
                        campaigns.run_campaign(
                            uow.session,
                            spec,
                            version,
                            campaign,
                            self.clock.now(),
                            replay_from=replay_from,
                        )
                    )
                    uow.commit()
        return results
