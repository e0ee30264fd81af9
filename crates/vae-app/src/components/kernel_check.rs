use leptos::prelude::*;
use vae_gpu::selftest::KernelCheck;

/// The result of running one of our kernels on this device against the CPU reference.
#[component]
pub fn KernelCheckPanel(check: Result<KernelCheck, String>) -> impl IntoView {
    match check {
        Ok(check) => {
            let passed = check.passed();
            view! {
                <section
                    class="panel"
                    id="kernel-check"
                    data-passed=passed.to_string()
                    data-max-error=check.max_abs_error.to_string()
                    data-tolerance=check.tolerance.to_string()
                >
                    <h2>"Kernel check"</h2>
                    <p>
                        <code>{check.kernel}</code>" on "{check.shape}
                        ", compared with the CPU reference:"
                    </p>
                    <p class=if passed { "verdict pass" } else { "verdict fail" }>
                        {if passed { "✓ matches" } else { "✗ does not match" }}
                        ": max |GPU − CPU| = "{format!("{:.2e}", check.max_abs_error)}
                        " (tolerance "{format!("{:.2e}", check.tolerance)}")"
                    </p>
                </section>
            }
            .into_any()
        }
        Err(message) => view! {
            <section class="panel error" id="kernel-check" data-passed="false" role="alert">
                <h2>"Kernel check"</h2>
                <p>"The kernel could not run on this device: "{message}</p>
            </section>
        }
        .into_any(),
    }
}
