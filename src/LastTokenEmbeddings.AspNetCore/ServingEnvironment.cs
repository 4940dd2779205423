using System.Runtime.InteropServices;

namespace LastTokenEmbeddings.AspNetCore;

/// <summary>Process settings that matter when a model and an HTTP server share the CPU cores.</summary>
public static class ServingEnvironment
{
    /// <summary>The OpenMP variable this class sets.</summary>
    public const string OpenMPWaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>
    /// Makes libtorch's OpenMP worker threads sleep, instead of spinning, between parallel regions
    /// (<c>OMP_WAIT_POLICY=PASSIVE</c>) unless the variable is already set. Spinning is OpenMP's default and suits a
    /// process that only computes; in a server it takes the cores from the threads that parse requests and write
    /// responses, which on a small machine multiplies request latency many times over (see docs/serving.md).
    /// Call it before the first model is loaded: OpenMP reads the variable once, when libtorch is loaded.
    /// </summary>
    /// <returns>Whether the variable was set now (<see langword="false"/>: it was already set, or this is not a glibc Linux).</returns>
    public static bool PreferPassiveOpenMPWaiting()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(OpenMPWaitPolicyVariable)) || !OperatingSystem.IsLinux())
            return false;
        try
        {
            // Environment.SetEnvironmentVariable only changes .NET's copy on Unix; libgomp reads the C environment.
            if (NativeMethods.setenv(OpenMPWaitPolicyVariable, "PASSIVE", 0) != 0)
                return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        Environment.SetEnvironmentVariable(OpenMPWaitPolicyVariable, "PASSIVE");
        return true;
    }

    private static class NativeMethods
    {
        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int setenv(string name, string value, int overwrite);
    }
}
