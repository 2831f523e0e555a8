"""The protocol-agnostic simulator core. Protocol modules register with it; nothing here names
a protocol.

- :mod:`.state`: :class:`~.state.SimulatorState` (scenarios, credentials, journal, attempt and
  id counters, usage, clock, seed), admission from the request head, :class:`~.state.Exchange`;
- :mod:`.journal`: the journal and its typed entries (``wire.frame``, ``wire.note``);
- :mod:`.clock`: the injectable clock (a fixed ``created`` by default);
- :mod:`.actions`: the action vocabulary and the one executor walk both shells share;
- :mod:`.faults`: fault placement over a stream of encoded events;
- :mod:`.registry`: the protocol registry;
- :mod:`.app`: the aiohttp application factory and the control API;
- :mod:`.socket_server`: :class:`~.socket_server.SimulatorServer`, an app on a loopback port;
- :mod:`.credentials`: the accepted API keys.

This package imports none of its modules itself: :mod:`voicewire.simulators.scenario` imports
nothing of the core, the core imports the scenario model, and importing the package must not
drag the rest in.
"""
