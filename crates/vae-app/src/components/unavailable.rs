use leptos::prelude::*;

/// Shown above the lab (which runs on the CPU) when the browser has no usable WebGPU: what
/// happened, and how to get the faster GPU path.
#[component]
pub fn WebGpuUnavailable(reason: String) -> impl IntoView {
    view! {
        <section class="panel note" id="webgpu-unavailable" role="status">
            <h2>"WebGPU is not available: the lab runs on your CPU"</h2>
            <p>"This browser gave the page no WebGPU ("{reason}"), so the model trains on your CPU, \
                in WebAssembly. Everything works; a browser with WebGPU on a real GPU trains faster."</p>
            <details>
                <summary>"How to turn WebGPU on"</summary>
                <ul>
                    <li>"Use a browser with WebGPU on: Chrome or Edge 113 or newer (Windows, macOS, \
                         ChromeOS; Android from Chrome 121), Safari 26 or newer, or Firefox 141 or newer \
                         on Windows."</li>
                    <li>"On Linux, Chrome and Chromium keep WebGPU behind a flag: open "
                        <code>"chrome://flags/#enable-unsafe-webgpu"</code>", enable it and restart, or \
                         start the browser with "<code>"--enable-unsafe-webgpu"</code>"."</li>
                    <li>"In Firefox where WebGPU is not on by default (Linux, for one): open "
                        <code>"about:config"</code>", set "<code>"dom.webgpu.enabled"</code>" to true and \
                         reload; a blocklisted GPU also needs "<code>"gfx.webgpu.ignore-blocklist"</code>"."</li>
                    <li>"If WebGPU is on and this still appears, your GPU or driver may be blocklisted: \
                         update the driver, or check "<code>"chrome://gpu"</code>"."</li>
                </ul>
            </details>
        </section>
    }
}
