//! The fleet view's sampler in the service: rounds of readings, one every interval, each
//! profile's reading sent to the UI as soon as it is made.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Event, EventSender, FleetEvent, ReqId};
use crate::backend::fleet::{FleetTarget, Sampler};

/// Reads `targets` every `interval` until the UI is gone (or the task is aborted).
pub(super) async fn run(
    req: ReqId,
    sampler: Arc<Sampler>,
    targets: Vec<FleetTarget>,
    interval: Duration,
    events: EventSender,
) {
    let send = |kind| events.send(Event::Fleet { req, kind });
    loop {
        let started = Instant::now();
        if !send(FleetEvent::RoundStarted).await {
            return;
        }
        let mut readings = sampler.round(targets.clone());
        while let Some((profile, reading)) = readings.recv().await {
            if !send(FleetEvent::Reading { profile, reading }).await {
                return;
            }
        }
        if !send(FleetEvent::RoundDone {
            took: started.elapsed(),
        })
        .await
        {
            return;
        }
        tokio::time::sleep_until((started + interval).into()).await;
    }
}
