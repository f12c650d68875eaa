"""The throttled runs' budget-used figure on schedules whose answer is known.
Run: python3 -m unittest discover -s bench -p '*_test.py' (CTest: bench_metrics)."""

import unittest

from scenarios import window_occupancy


def burst(at, n):
    return [at] * n


class WindowOccupancyTest(unittest.TestCase):
    def test_ideal_bursting_client_uses_the_whole_budget(self):
        # 10,000 requests under 3,000 per 3 s: 3,000 at 0, 3 and 6 s, the last 1,000 at 9 s.
        starts = burst(0.0, 3000) + burst(3.0, 3000) + burst(6.0, 3000) + burst(9.0, 1000)
        self.assertAlmostEqual(window_occupancy(starts, 3000, 3.0), 1.0)

    def test_steady_client_at_the_limit_rate_uses_the_whole_budget(self):
        starts = [i / 1000.0 for i in range(10000)]  # 1,000 per second for 10 s
        self.assertAlmostEqual(window_occupancy(starts, 3000, 3.0), 1.0, places=3)

    def test_half_the_rate_uses_half(self):
        starts = [i / 500.0 for i in range(5000)]
        self.assertAlmostEqual(window_occupancy(starts, 3000, 3.0), 0.5, places=3)

    def test_a_pause_before_each_window_shows(self):
        # Bursts of 3,000 every 4 s instead of every 3 s. Measured from 3 s (the end of the
        # first window) to 12 s (the last request), the window is full in [4, 7) and [8, 11).
        starts = burst(0.0, 3000) + burst(4.0, 3000) + burst(8.0, 3000) + burst(12.0, 3000)
        self.assertAlmostEqual(window_occupancy(starts, 3000, 3.0), 6.0 / 9.0)

    def test_requests_within_one_window_measure_nothing(self):
        self.assertIsNone(window_occupancy([0.0, 1.0, 2.5], 3000, 3.0))
        self.assertIsNone(window_occupancy([], 3000, 3.0))


if __name__ == "__main__":
    unittest.main()
