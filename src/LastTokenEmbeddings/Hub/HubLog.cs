using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.Hub;

/// <summary>The hub resolver's log messages. URLs are logged without their query (signed CDN URLs carry credentials there).</summary>
internal static partial class HubLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Url} failed ({Reason}); retry {Attempt} of {MaxRetries} in {DelaySeconds:0.###} s")]
    public static partial void Retrying(ILogger logger, string method, string url, string reason, int attempt, int maxRetries, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Download of {FileName} of {ModelId} interrupted at {Bytes} of {TotalBytes} bytes ({Reason}); resuming, retry {Attempt} of {MaxRetries} in {DelaySeconds:0.###} s")]
    public static partial void DownloadInterrupted(ILogger logger, string fileName, string modelId, long bytes, long totalBytes, string reason, int attempt, int maxRetries, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach {Endpoint} for {ModelId} at revision '{Revision}' ({Reason}); using the complete snapshot {Commit} in the cache")]
    public static partial void UsingCachedSnapshot(ILogger logger, string endpoint, string modelId, string revision, string reason, string commit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record refs/{Revision} = {Commit} in {StorageFolder} ({Reason}); the snapshot is complete all the same")]
    public static partial void CouldNotWriteRef(ILogger logger, string revision, string commit, string storageFolder, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Still waiting for the lock {LockPath} ({Seconds:0} s): another download of this file is running")]
    public static partial void StillWaitingForLock(ILogger logger, string lockPath, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {FileName} of {ModelId} at byte {Bytes} of {TotalBytes}")]
    public static partial void Resuming(ILogger logger, string fileName, string modelId, long bytes, long totalBytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Downloading {FileName} of {ModelId} ({TotalBytes} bytes) from {Url}")]
    public static partial void Downloading(ILogger logger, string fileName, string modelId, long totalBytes, string url);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{ModelId} at revision '{Revision}' is commit {Commit}; snapshot {SnapshotDirectory}")]
    public static partial void Resolved(ILogger logger, string modelId, string revision, string commit, string snapshotDirectory);
}
