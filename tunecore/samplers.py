"""Points of the unit cube for search spaces: uniform, Sobol', Halton and Latin hypercube.

The engines are shaped like :mod:`scipy.stats.qmc`: each has ``d``, ``random(n)`` returning an
``(n, d)`` float64 array in ``[0, 1)``, ``reset()`` and ``fast_forward(n)``; :class:`Sobol` also
has ``random_base2(m)``. The points come from tunecore's C++ core and depend on nothing but the
constructor's arguments (the seed included) and the position in the sequence, so the same seed
gives the same points on every platform, and point ``k`` is the same whether it is drawn alone,
after ``fast_forward(k)`` or inside a larger batch. Large draws run on OpenMP threads (as many
as ``OMP_NUM_THREADS`` allows) and give the same points on any number of threads. An engine
keeps its position in plain Python state: share one between Python threads only with a lock.

>>> from tunecore.samplers import Sobol
>>> Sobol(2, scramble=False).random(4)
array([[0.  , 0.  ],
       [0.5 , 0.5 ],
       [0.75, 0.25],
       [0.25, 0.75]])
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from tunecore import _core
from tunecore._memory import physical_memory
from tunecore._seeding import resolve_seed

__all__ = ["SAMPLERS", "Halton", "LatinHypercube", "Random", "Sobol", "make_sampler"]

_MAX_INDEX = 2**63  # positions are 64-bit counters in the core
_MAX_D = 2**31 - 1  # the core takes d as an int
_MAX_SCRAMBLED_HALTON_D = 1000  # permutation memory: see Halton
_MAX_VALUES = 2**59  # float64 values of one draw: 2**62 bytes, NumPy's limit for an array


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


class _Engine:
    """Shared state of the engines: dimension, seed and position in the sequence."""

    def __init__(self, d: int, seed: int | None) -> None:
        self._d = _check_int(d, "d", 1)
        if self._d > _MAX_D:
            raise ValueError(f"d must be at most {_MAX_D} (the core's int), got {d!r}")
        self._seed = resolve_seed(seed)
        self.num_generated = 0

    @property
    def d(self) -> int:
        """Number of dimensions (columns of every draw)."""
        return self._d

    @property
    def seed(self) -> int:
        """The seed in use (drawn from the OS when the engine was built with ``seed=None``)."""
        return self._seed

    def _fill(self, out: np.ndarray, start: int) -> None:
        raise NotImplementedError

    def _draw(self, n: int) -> np.ndarray:
        if n * self._d > _MAX_VALUES:
            raise ValueError(
                f"n must keep a draw below 2**59 numbers, got n={n} points of d={self._d}"
            )
        memory = physical_memory()
        if memory is not None and 8 * n * self._d > memory:
            raise ValueError(
                f"n must make a draw that fits in memory, got n={n} points of d={self._d} "
                f"({8 * n * self._d / 2**30:.3g} GiB of float64, more than this machine's "
                f"{memory / 2**30:.3g} GiB)"
            )
        if self.num_generated + n > _MAX_INDEX:
            raise ValueError(
                f"n must keep the total number of points at most 2**63, got n={n} after "
                f"{self.num_generated} points"
            )
        out = np.empty((n, self._d), dtype=np.float64)
        if n:
            self._fill(out, self.num_generated)
        self.num_generated += n
        return out

    def random(self, n: int = 1) -> np.ndarray:
        """Draw the next ``n`` points.

        Parameters
        ----------
        n : int, optional
            Number of points, at least 0. Default is 1.

        Returns
        -------
        numpy.ndarray
            Array of shape ``(n, d)``, float64, every value in ``[0, 1)``.
        """
        return self._draw(_check_int(n, "n", 0))

    def reset(self) -> _Engine:
        """Go back to the first point of the sequence.

        Returns
        -------
        engine
            This engine, reset.
        """
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> _Engine:
        """Skip the next ``n`` points, exactly as drawing and discarding them would.

        Parameters
        ----------
        n : int
            Number of points to skip, at least 0.

        Returns
        -------
        engine
            This engine, moved on by ``n`` points.
        """
        n = _check_int(n, "n", 0)
        if self.num_generated + n > _MAX_INDEX:
            raise ValueError(
                f"n must keep the total number of points at most 2**63, got n={n} after "
                f"{self.num_generated} points"
            )
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self._d}, seed={self._seed})"


class Random(_Engine):
    """Independent uniform points from a counter-based generator.

    Row ``k`` of ``Random(d, seed)`` is a pure function of ``(seed, k)``: the columns are the
    Philox4x32-10 outputs (Salmon et al. 2011) at counter ``k`` under the key ``seed``, each
    double made of 53 random bits. So ``Random(d, s).fast_forward(k).random(1)[0]`` equals
    ``Random(d, s).random(k + 1)[k]``, and trial ``k`` of a study draws the same values whether
    it runs first, last, alone or in a parallel batch.

    Parameters
    ----------
    d : int
        Number of dimensions, at least 1.
    seed : int or None, optional
        Seed in ``[0, 2**63 - 1]``; None draws one from the OS.

    Examples
    --------
    >>> from tunecore.samplers import Random
    >>> x = Random(3, seed=7).random(5)
    >>> x.shape
    (5, 3)
    >>> bool((Random(3, seed=7).fast_forward(4).random(1) == x[4]).all())
    True
    """

    def __init__(self, d: int, seed: int | None = None) -> None:
        super().__init__(d, seed)

    def _fill(self, out: np.ndarray, start: int) -> None:
        _core.random_fill(out, self._seed, start)


class Sobol(_Engine):
    """Sobol' low-discrepancy sequence, unscrambled or scrambled.

    The direction numbers are Joe and Kuo's table new-joe-kuo-6.21201 (up to 21,201
    dimensions) and points follow the Gray-code order, so unscrambled points equal
    ``scipy.stats.qmc.Sobol(d, scramble=False)``'s, starting at the origin. Scrambling is a
    random linear matrix scramble followed by a random digital shift (Matousek 1998; Owen
    2003), both drawn from the seed; it keeps the net properties and makes every point
    uniform on the cube. The core works on 64-bit integers, so up to ``2**63`` points are
    distinct.

    The balance properties of Sobol' points hold for ``n = 2**m`` points; like SciPy, the
    first draw warns when its ``n`` is not a power of two, and :meth:`random_base2` refuses a
    draw that would leave the total off a power of two.

    Parameters
    ----------
    d : int
        Number of dimensions, in ``[1, 21201]``.
    scramble : bool, optional
        Scramble the points. Default is True.
    seed : int or None, optional
        Seed of the scramble, in ``[0, 2**63 - 1]``; None draws one from the OS.

    References
    ----------
    .. [1] S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better two-dimensional
       projections", SIAM J. Sci. Comput. 30, 2635-2654, 2008.
    .. [2] J. Matousek, "On the L2-discrepancy for anchored boxes", J. Complexity 14,
       527-556, 1998.

    Examples
    --------
    >>> from tunecore.samplers import Sobol
    >>> x = Sobol(5, seed=1).random_base2(10)
    >>> x.shape
    (1024, 5)
    """

    MAXDIM: int = _core.SobolEngine.max_dim()

    def __init__(self, d: int, scramble: bool = True, seed: int | None = None) -> None:
        super().__init__(d, seed)
        if self._d > self.MAXDIM:
            raise ValueError(f"d must be at most {self.MAXDIM} for Sobol, got {d!r}")
        self.scramble = _check_bool(scramble, "scramble")
        self._engine = _core.SobolEngine(self._d, self.scramble, self._seed)

    def _fill(self, out: np.ndarray, start: int) -> None:
        self._engine.fill(out, start)

    def random(self, n: int = 1) -> np.ndarray:
        """Draw the next ``n`` points.

        Warns (UserWarning) when this is the first draw and ``n`` is not a power of two, as
        :class:`scipy.stats.qmc.Sobol` does.

        Parameters
        ----------
        n : int, optional
            Number of points, at least 0. Default is 1.

        Returns
        -------
        numpy.ndarray
            Array of shape ``(n, d)``, float64, every value in ``[0, 1)``.
        """
        n = _check_int(n, "n", 0)
        if n and self.num_generated == 0 and n & (n - 1):
            warnings.warn(
                "The balance properties of Sobol' points require n to be a power of 2; "
                "draw 2**m points with random_base2(m) to keep them.",
                UserWarning,
                stacklevel=2,
            )
        return self._draw(n)

    def random_base2(self, m: int) -> np.ndarray:
        """Draw the next ``2**m`` points, keeping the balance properties.

        Parameters
        ----------
        m : int
            Base-2 logarithm of the number of points, at least 0.

        Returns
        -------
        numpy.ndarray
            Array of shape ``(2**m, d)``.

        Raises
        ------
        ValueError
            When ``num_generated + 2**m`` is not a power of two.
        """
        m = _check_int(m, "m", 0)
        if m > 62:  # 2**m itself would be a huge Python int (m = 2**40 exhausted memory)
            raise ValueError(f"m must be at most 62 (2**m points), got {m!r}")
        total = self.num_generated + 2**m
        if total & (total - 1):
            raise ValueError(
                f"m must make the total number of points a power of 2, got m={m}: "
                f"{self.num_generated} + 2**{m} = {total} (use random(n) to draw anyway)"
            )
        return self._draw(2**m)

    def __repr__(self) -> str:
        return f"Sobol(d={self._d}, scramble={self.scramble}, seed={self._seed})"


class Halton(_Engine):
    """Halton low-discrepancy sequence, unscrambled or scrambled.

    Column ``j`` is the radical inverse of the point's index in the ``j``-th prime (2, 3, 5,
    ...); unscrambled points equal ``scipy.stats.qmc.Halton(d, scramble=False)``'s bit for bit,
    starting at the origin. Scrambling draws one random permutation of the digits per base and
    per digit position (Owen 2017, algorithm 1), zero digits above the leading one included, so
    every point is uniform on the cube and the low correlations of high bases go away. The
    permutations cover the digit positions that matter to a double (about ``54 / log2(b)`` of
    them), so their memory grows like ``sum(b * 54 / log2(b))`` over the ``d`` primes: about
    100 MB at ``d = 1000``, 600 MB at ``d = 3000``, so a scrambled sequence takes at most
    1000 dimensions (Sobol' covers 21201, and high Halton bases spread points poorly anyway).

    Parameters
    ----------
    d : int
        Number of dimensions, at least 1.
    scramble : bool, optional
        Scramble the points. Default is True.
    seed : int or None, optional
        Seed of the permutations, in ``[0, 2**63 - 1]``; None draws one from the OS.

    References
    ----------
    .. [1] A. B. Owen, "A randomized Halton algorithm in R", arXiv:1706.02808, 2017.

    Examples
    --------
    >>> from tunecore.samplers import Halton
    >>> Halton(2, scramble=False).random(3)
    array([[0.        , 0.        ],
           [0.5       , 0.33333333],
           [0.25      , 0.66666667]])
    """

    def __init__(self, d: int, scramble: bool = True, seed: int | None = None) -> None:
        super().__init__(d, seed)
        self.scramble = _check_bool(scramble, "scramble")
        if self.scramble and self._d > _MAX_SCRAMBLED_HALTON_D:
            raise ValueError(
                f"d must be at most {_MAX_SCRAMBLED_HALTON_D} for a scrambled Halton sequence, "
                f"got {d!r}: its digit permutations take about 100 MB at d = 1000 and grow "
                "faster than d; use Sobol for more dimensions, or scramble=False"
            )
        self._engine = _core.HaltonEngine(self._d, self.scramble, self._seed)

    def _fill(self, out: np.ndarray, start: int) -> None:
        self._engine.fill(out, start)

    def __repr__(self) -> str:
        return f"Halton(d={self._d}, scramble={self.scramble}, seed={self._seed})"


_OPTIMIZATIONS = {None: 0, "random-cd": 1, "maximin": 2}


class LatinHypercube(_Engine):
    """Latin hypercube designs: in every column, exactly one point per stratum.

    Each call ``random(n)`` returns a new design of ``n`` points: column ``j`` holds
    ``(p_j + u) / n`` with ``p_j`` a uniform random permutation of ``0, ..., n - 1`` and ``u``
    uniform in ``[0, 1)``, or ``1/2`` when ``centered``. The design depends on the seed and on
    ``num_generated`` when it is drawn, so ``fast_forward(n)`` skips exactly what drawing and
    discarding ``n`` points would.

    Parameters
    ----------
    d : int
        Number of dimensions, at least 1.
    centered : bool, optional
        Put every point at the center of its stratum. Default is False.
    optimization : {None, "random-cd", "maximin"}, optional
        Improve the space filling after drawing, by swapping two values within a column (which
        keeps the stratification) when the swap helps:

        * ``"random-cd"``: random swaps kept when they lower the centered L2 discrepancy, as
          SciPy's ``optimization="random-cd"``;
        * ``"maximin"``: swaps that move a point of a closest pair, kept when every distance
          they change ends up above the current smallest pairwise distance, so that distance
          never falls and rises as the closest pairs are pulled apart.

        Both stop after 10,000 proposals or 100 failed proposals in a row; each proposal costs
        O(n d), and ``"maximin"`` starts with an O(n**2 d) nearest-neighbour search, so they
        are meant for designs of up to a few thousand points. Default is None.
    seed : int or None, optional
        Seed in ``[0, 2**63 - 1]``; None draws one from the OS.

    Examples
    --------
    >>> import numpy as np
    >>> from tunecore.samplers import LatinHypercube
    >>> x = LatinHypercube(2, seed=3).random(4)
    >>> np.sort(np.floor(x * 4), axis=0)
    array([[0., 0.],
           [1., 1.],
           [2., 2.],
           [3., 3.]])
    """

    def __init__(
        self,
        d: int,
        centered: bool = False,
        optimization: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(d, seed)
        self.centered = _check_bool(centered, "centered")
        if optimization is not None and not isinstance(optimization, str):
            raise TypeError(f"optimization must be a str or None, got {optimization!r}")
        if optimization not in _OPTIMIZATIONS:
            raise ValueError(
                f"optimization must be None, 'random-cd' or 'maximin', got {optimization!r}"
            )
        self.optimization = optimization

    def random(self, n: int = 1) -> np.ndarray:
        """Draw a new Latin hypercube design of ``n`` points.

        Parameters
        ----------
        n : int, optional
            Number of points, in ``[0, 2**32)``. Default is 1.

        Returns
        -------
        numpy.ndarray
            Array of shape ``(n, d)``, float64, every value in ``[0, 1)``.
        """
        n = _check_int(n, "n", 0)
        if n >= 2**32:
            raise ValueError(f"n must be below 2**32 for LatinHypercube, got {n!r}")
        return self._draw(n)

    def _fill(self, out: np.ndarray, start: int) -> None:
        _core.lhs_fill(out, self.centered, _OPTIMIZATIONS[self.optimization], self._seed, start)

    def __repr__(self) -> str:
        return (
            f"LatinHypercube(d={self._d}, centered={self.centered}, "
            f"optimization={self.optimization!r}, seed={self._seed})"
        )


SAMPLERS: dict[str, type[_Engine]] = {
    "random": Random,
    "sobol": Sobol,
    "halton": Halton,
    "lhs": LatinHypercube,
}


def make_sampler(name: str, d: int, seed: int | None = None) -> _Engine:
    """Build a sampler by name with its default options.

    Parameters
    ----------
    name : {"random", "sobol", "halton", "lhs"}
        Which sampler: :class:`Random`, scrambled :class:`Sobol`, scrambled :class:`Halton` or
        :class:`LatinHypercube`.
    d : int
        Number of dimensions, at least 1.
    seed : int or None, optional
        Seed in ``[0, 2**63 - 1]``; None draws one from the OS.

    Returns
    -------
    Random, Sobol, Halton or LatinHypercube
        The sampler.

    Examples
    --------
    >>> from tunecore.samplers import make_sampler
    >>> make_sampler("halton", 3, seed=0).random(2).shape
    (2, 3)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {name!r}")
    if name not in SAMPLERS:
        valid = ", ".join(repr(k) for k in SAMPLERS)
        raise ValueError(f"name must be one of {valid}, got {name!r}")
    return SAMPLERS[name](d, seed=seed)
