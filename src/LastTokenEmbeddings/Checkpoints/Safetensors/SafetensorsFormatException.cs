namespace LastTokenEmbeddings.Checkpoints.Safetensors;

/// <summary>A safetensors file or sharded-checkpoint index is malformed or inconsistent.</summary>
public sealed class SafetensorsFormatException : CheckpointException
{
    /// <summary>Creates the exception; the file (and tensor) are prefixed to <paramref name="message"/>.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="message">What is wrong with it.</param>
    /// <param name="tensorName">The offending tensor, when there is one.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public SafetensorsFormatException(string filePath, string message, string? tensorName = null, Exception? innerException = null)
        : base(filePath, message, tensorName, innerException)
    {
    }
}
