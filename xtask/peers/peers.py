"""The image-heavy peer workload of `cargo xtask bench --peers`.

Runs TURNS image turns against an OpenAI-compatible server (the in-repo mock,
scripted by `promptkit-bench serve images`) through the official `openai`
client or LangChain's `ChatOpenAI`, keeping the whole conversation in memory
the way a simple chat app does (images as base64 `data:` URLs), and prints one
JSON line: client, turns, seconds, rss_base, rss_end, peak_rss (bytes).

Each turn: chat call -> the model calls `image-maker`; images.generate ->
a b64_json PNG; the tool result plus the image go into history; chat call ->
text.
"""

import argparse
import json
import sys
import time

TOOL = {
    "type": "function",
    "function": {
        "name": "image-maker",
        "description": "Generate an image",
        "parameters": {
            "type": "object",
            "properties": {"prompt": {"type": "string"}},
            "required": ["prompt"],
        },
    },
}
SYSTEM = "You make images on request."


def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def run_openai(base_url, turns):
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    history = [{"role": "system", "content": SYSTEM}]
    base = status_kib("VmRSS:")
    t0 = time.perf_counter()
    for i in range(turns):
        history.append({"role": "user", "content": f"draw picture {i}"})
        r = client.chat.completions.create(model="gpt-4o", messages=history, tools=[TOOL])
        msg = r.choices[0].message
        history.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls or []:
            args = json.loads(call.function.arguments)
            img = client.images.generate(model="gpt-image-1", prompt=args["prompt"])
            url = "data:image/png;base64," + img.data[0].b64_json
            history.append({"role": "tool", "tool_call_id": call.id, "content": "image generated"})
            history.append(
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            )
        r = client.chat.completions.create(model="gpt-4o", messages=history, tools=[TOOL])
        history.append({"role": "assistant", "content": r.choices[0].message.content})
    # Measured while the conversation is still alive.
    return base, time.perf_counter() - t0, status_kib("VmRSS:")


def run_langchain(base_url, turns):
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
    from langchain_openai import ChatOpenAI
    from openai import OpenAI

    llm = ChatOpenAI(model="gpt-4o", base_url=base_url, api_key="unused", max_retries=0)
    llm = llm.bind_tools([TOOL])
    images = OpenAI(base_url=base_url, api_key="unused", max_retries=0)
    history = [SystemMessage(SYSTEM)]
    base = status_kib("VmRSS:")
    t0 = time.perf_counter()
    for i in range(turns):
        history.append(HumanMessage(f"draw picture {i}"))
        ai = llm.invoke(history)
        history.append(ai)
        for call in ai.tool_calls:
            img = images.images.generate(model="gpt-image-1", prompt=call["args"]["prompt"])
            url = "data:image/png;base64," + img.data[0].b64_json
            history.append(ToolMessage(content="image generated", tool_call_id=call["id"]))
            history.append(HumanMessage(content=[{"type": "image_url", "image_url": {"url": url}}]))
        history.append(llm.invoke(history))
    # Measured while the conversation is still alive.
    return base, time.perf_counter() - t0, status_kib("VmRSS:")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--client", choices=["openai", "langchain"], required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--turns", type=int, default=20)
    a = p.parse_args()
    run = run_openai if a.client == "openai" else run_langchain
    base, seconds, end = run(a.base_url, a.turns)
    name = {"openai": "openai (Python)", "langchain": "LangChain ChatOpenAI (Python)"}[a.client]
    print(
        json.dumps(
            {
                "client": name,
                "turns": a.turns,
                "seconds": seconds,
                "rss_base": base,
                "rss_end": end,
                "peak_rss": status_kib("VmHWM:"),
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
