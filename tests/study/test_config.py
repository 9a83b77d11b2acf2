"""StudyConfig carries one FitSpec and reads configs saved before it."""

from __future__ import annotations

from toolkit.fitting import FitSpec
from toolkit.study import StudyConfig


def test_config_round_trips_with_its_spec_and_reads_the_old_layout() -> None:
    config = StudyConfig(p_grid=(0.5, 1.0), spec=FitSpec(objective="huber-log"))
    assert StudyConfig.from_dict(config.to_dict()) == config
    old = {k: v for k, v in StudyConfig().to_dict().items() if k != "spec"} | {"law": "chinchilla",
                                                                               "objective": "mse"}
    assert StudyConfig.from_dict(old) == StudyConfig()
