#pragma once
/// The one rule for an amount of money that enters sf-actors: from a worker's status file, a
/// unit's `SF_COST` line, a unit's fixed `cost:` in the plan, the ledger file, or the budget
/// ledger's inputs. Anything outside it is refused where it enters, so every sum stays a
/// finite number (two workers reporting 1.7e308 once made the total infinite, written as null).

#include <string>

namespace sf {

/// The largest cost in USD accepted for one value (a unit, a worker's cumulative cost, a ledger
/// entry): one million. Far above any real run, far below where sums of values could overflow.
constexpr double max_cost_usd = 1e6;

/// The maximum as written in messages and docs ("1000000").
constexpr const char* max_cost_text = "1000000";

/// True when `usd` is finite, >= 0 and at most `max_cost_usd`.
bool valid_cost(double usd);

/// Why `usd` is not a valid cost ("is not a finite number", "is negative", "is more than the
/// maximum of 1000000 USD"); empty when it is valid.
std::string cost_problem(double usd);

/// `a + b` for two valid costs, held at `max_cost_usd` (a worker's cumulative cost never
/// exceeds what a reader accepts).
double add_costs_capped(double a, double b);

/// True when a ceiling is set (> 0) and `spent` has reached it. A tiny epsilon keeps 0.4+0.6
/// (0.9999999) from slipping under a 1.00 ceiling; every reader of "reached" asks this.
bool ceiling_reached(double spent, double ceiling);

/// The one line that refuses a run because the budget period already spent its ceiling:
/// spent, ceiling, and the two fixes.
std::string ceiling_refusal(double spent, double ceiling);

} // namespace sf
