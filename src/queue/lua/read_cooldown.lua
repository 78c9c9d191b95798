-- read_cooldown.lua
-- The rate factor a platform's cooldown puts in force now (Redis's clock).
-- KEYS: cooldown (hash, see cooldown.lua). ARGV: none.
-- Returns the factor as a string ('1': no cooldown).
--! include now_ms
--! include cooldown_factor
return string.format('%.6f', cooldown_factor(KEYS[1], now_ms()))
