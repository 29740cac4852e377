"""Why the run control uses a worker thread: time a shell reply while train_ch6 runs, as an asyncio task or a thread.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python tools/measure_run_control.py
"""
import time, sys
from jupyter_client.manager import start_new_kernel

SETUP = '''
import asyncio, threading, torch, lenet_helpers as lh
g = torch.Generator().manual_seed(0)
imgs = torch.randint(0, 256, (4096, 28, 28), dtype=torch.uint8, generator=g)
labs = torch.randint(0, 10, (4096,), generator=g)
tr = lh.ImageBatches(imgs, labs, 128, shuffle=True); te = lh.ImageBatches(imgs[:256], labs[:256], 128)
def job():
    lh.train_ch6(lh.lenet(), tr, te, 3, 0.9, 'cpu', animate=False, progress=False)
'''
STARTS = {
    'asyncio task': 'async def _run():\n    job()\ntask = asyncio.ensure_future(_run())',
    'asyncio task + to_thread': 'async def _run():\n    await asyncio.to_thread(job)\ntask = asyncio.ensure_future(_run())',
    'worker thread': 'th = threading.Thread(target=job, daemon=True); th.start()',
}
for name, start in STARTS.items():
    km, kc = start_new_kernel(kernel_name='python3')
    try:
        kc.execute_interactive(SETUP, timeout=120)
        kc.execute_interactive(start, timeout=300)
        lat = []
        for _ in range(5):
            time.sleep(0.5)
            t = time.perf_counter()
            kc.execute_interactive('1', timeout=300)
            lat.append(time.perf_counter() - t)
        print(f'{name}: reply to a shell message while training: ' + ', '.join(f'{x:.2f}' for x in lat) + ' s', flush=True)
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)
