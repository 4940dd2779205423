using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// An exclusive lock on <c>.locks/models--ORG--NAME/ETAG.lock</c>, the file huggingface_hub locks while it downloads
/// that blob. Across processes it is the open file held with <see cref="FileShare.None"/>, which .NET implements on
/// Unix with <c>flock(LOCK_EX)</c>: the same lock Python's <c>filelock</c> takes, so .NET and Python downloaders
/// exclude each other. Within a process a semaphore per lock file orders waiters without polling.
/// </summary>
internal sealed class HubFileLock : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> InProcessLocks = new(StringComparer.Ordinal);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _inProcess;
    private readonly FileStream _file;

    private HubFileLock(SemaphoreSlim inProcess, FileStream file)
    {
        _inProcess = inProcess;
        _file = file;
    }

    /// <summary>Waits until the lock is held; logs every 10 s while another holder keeps it, as huggingface_hub does.</summary>
    public static async Task<HubFileLock> AcquireAsync(string lockPath, ILogger logger, CancellationToken cancellationToken)
    {
        var fullPath = Path.GetFullPath(lockPath);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        var inProcess = InProcessLocks.GetOrAdd(fullPath, _ => new SemaphoreSlim(1, 1));
        await inProcess.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var waited = Stopwatch.StartNew();
            var nextLog = LogInterval;
            while (true)
            {
                if (TryOpen(fullPath) is { } file)
                    return new HubFileLock(inProcess, file);
                if (waited.Elapsed >= nextLog)
                {
                    HubLog.StillWaitingForLock(logger, fullPath, waited.Elapsed.TotalSeconds);
                    nextLog += LogInterval;
                }
                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            inProcess.Release();
            throw;
        }
    }

    private static FileStream? TryOpen(string path)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead; // 0664, as huggingface_hub, so a shared cache's users can wait on each other
            return new FileStream(path, options);
        }
        catch (IOException e) when (IsHeldElsewhere(e))
        {
            return null;
        }
    }

    // Windows: ERROR_SHARING_VIOLATION or ERROR_LOCK_VIOLATION. Unix: flock's EWOULDBLOCK, which .NET reports as the raw errno.
    private static bool IsHeldElsewhere(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33 : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

    /// <summary>Releases the lock. The lock file stays, as huggingface_hub leaves it: deleting it would race with a waiter.</summary>
    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync().ConfigureAwait(false);
        _inProcess.Release();
    }
}
