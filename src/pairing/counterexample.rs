//! Counterexamples of the implementation model in the spec's JSON format
//! (`sharesim_model::counterexample`): each step is named from α of the states around it, so both
//! models' paths replay the same way in the simulator.

use sharesim_model::counterexample::{name_step, Counterexample};
use sharesim_model::{ShareAction, ShareModelCfg};
use stateright::Path;

use super::model::{ImplModel, ImplState};

/// Names the steps of an implementation-model path. `model` in the JSON is `implementation`.
pub fn impl_counterexample(
    model: &ImplModel,
    property: &str,
    path: Path<ImplState, ShareAction>,
) -> Counterexample {
    let pairs = path.into_vec();
    let mut steps = Vec::new();
    for window in pairs.windows(2) {
        let (before, Some(action)) = &window[0] else {
            break;
        };
        let after = &window[1].0;
        steps.push(name_step(
            &model.spec,
            &before.abstract_state,
            *action,
            &after.abstract_state,
        ));
    }
    Counterexample {
        model: "implementation".to_string(),
        property: property.to_string(),
        profile: model.cfg.profile,
        config: ShareModelCfg {
            symmetry: false,
            ..model.cfg.clone()
        },
        steps,
    }
}
